"""Knowledge bases: documents chunked and indexed on upload, BM25 retrieval for Chinese and English."""
