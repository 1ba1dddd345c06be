"""Hand-written intent cues: the words people use for each template's job, in English and Chinese.

Each intent maps to ``{cue: weight}``. English cues are word phrases (stemmed and
typo-corrected at match time, so "summarizing" and "sumarize" hit "summarize"); Chinese cues
are substrings. Weights: 3 = names the job outright, 2 = strong hint, 1 = weak hint (shared
with other intents). The templates' own examples, tags and descriptions are added on top of
this by :mod:`pilot.generation.index`, so a new template is found even without cues here.
"""

from __future__ import annotations

INTENT_CUES: dict[str, dict[str, float]] = {
    "customer_support": {
        "customer support": 3, "customer service": 3, "support bot": 3, "support agent": 2, "helpdesk": 3,
        "help desk": 3, "support ticket": 2, "ticket": 1, "customer question": 2, "customer inquiry": 3,
        "customer": 1, "chatbot": 2, "chat bot": 2, "refund": 2, "complaint": 1, "reply to customer": 3,
        "answer customer": 3, "return": 1, "escalate": 2, "escalation": 2, "support email": 3,
        "support request": 3, "on call": 1, "order status": 2, "where is my order": 3, "live chat": 2,
        "客服": 3, "客户支持": 3, "售后": 3, "工单": 2, "客户咨询": 3, "咨询": 1, "聊天机器人": 2, "机器人": 1,
        "退款": 2, "退货": 2, "回复客户": 3, "客户问题": 2, "用户问题": 1, "订单状态": 2, "物流": 1, "投诉": 1,
        "在线客服": 3, "智能客服": 3, "答疑": 1,
    },
    "rag_qa": {
        "knowledge base": 3, "our doc": 3, "documentation": 2, "document": 2, "docs": 2, "pdf": 2,
        "manual": 2, "handbook": 3, "wiki": 2, "faq": 2, "policy": 1, "policies": 1, "rag": 3,
        "retrieval": 3, "question answering": 3, "answer question": 2, "based on": 1, "according to": 1,
        "internal": 1, "ask question": 2, "cite": 2, "citation": 2, "source": 1, "search our": 2,
        "product doc": 3, "employee handbook": 3, "uploaded file": 2, "contract": 1, "q&a": 2, "qa": 1,
        "知识库": 3, "文档": 2, "手册": 3, "问答": 2, "根据": 1, "检索": 3, "资料": 1, "制度": 2, "规章": 2,
        "说明书": 3, "常见问题": 2, "内部": 1, "上传的": 1, "员工手册": 3, "引用": 1, "回答问题": 2, "政策": 1,
    },
    "content_generation": {
        "write": 2, "blog": 3, "blog post": 3, "article": 2, "copy": 1, "copywriting": 3, "marketing copy": 3,
        "tweet": 2, "social media": 2, "social post": 2, "linkedin post": 3, "caption": 2, "slogan": 3,
        "product description": 3, "draft": 2, "generate content": 3, "content": 1, "headline": 2,
        "script": 2, "story": 2, "poem": 3, "essay": 2, "ad copy": 3, "seo": 2, "create post": 2, "outline": 1,
        "写": 1, "撰写": 3, "文章": 2, "博客": 3, "文案": 3, "推文": 2, "小红书": 3, "公众号": 2, "营销": 2,
        "生成内容": 3, "标题": 1, "广告语": 3, "脚本": 2, "创作": 2, "写一篇": 3, "软文": 3, "口播": 2,
        "商品描述": 3, "产品描述": 3, "朋友圈": 2, "短视频": 1, "稿": 2, "诗": 2, "起草": 2,
    },
    "summarization": {
        "summarize": 3, "summary": 3, "tl dr": 3, "tldr": 3, "condense": 3, "key point": 2, "recap": 2,
        "meeting note": 2, "minute": 1, "gist": 2, "shorten": 2, "brief": 1, "bullet point": 1,
        "digest": 1, "highlight": 1, "takeaway": 2, "abstract": 2, "long": 1,
        "总结": 3, "摘要": 3, "概括": 3, "归纳": 2, "要点": 2, "会议纪要": 3, "纪要": 2, "提炼": 2, "精简": 2,
        "缩写": 1, "梳理": 1, "汇总": 1, "重点": 1, "简述": 2,
    },
    "translation": {
        "translate": 4, "translation": 4, "translator": 4, "localize": 3, "localization": 3, "multilingual": 2,
        "subtitle": 2, "into english": 2, "into chinese": 2, "into spanish": 3, "into french": 3,
        "into japanese": 3, "into german": 3, "language": 1, "bilingual": 2,
        "翻译": 4, "译成": 4, "译为": 4, "翻成": 4, "英译中": 4, "中译英": 4, "本地化": 3, "多语言": 2,
        "字幕": 2, "双语": 2, "译文": 3, "转成英文": 3, "转成中文": 3,
    },
    "classification_routing": {
        "classify": 3, "classification": 3, "categorize": 3, "category": 2, "route": 3, "routing": 3,
        "triage": 3, "label": 2, "tag": 1, "sort": 2, "assign": 2, "dispatch": 2, "forward to": 2,
        "right team": 3, "department": 2, "priority": 1, "bucket": 2, "intent": 1, "spam": 2,
        "分类": 3, "归类": 3, "分发": 3, "路由": 3, "分派": 3, "打标签": 2, "标签": 1, "分拣": 3, "转给": 2,
        "分配": 2, "哪一类": 2, "属于哪": 2, "对应的部门": 3, "对应部门": 3, "相应的团队": 3, "优先级": 1, "垃圾": 1, "分流": 3,
    },
    "data_extraction": {
        "extract": 3, "extraction": 3, "parse": 3, "invoice": 3, "receipt": 3, "resume": 2, "cv": 2,
        "structured data": 3, "json": 2, "field": 2, "form": 1, "ocr": 3, "pull out": 2, "entity": 2,
        "name and address": 2, "contract": 1, "table": 1, "from the pdf": 1, "scrape field": 2,
        "提取": 3, "抽取": 3, "解析": 3, "发票": 3, "收据": 3, "简历": 2, "结构化": 3, "字段": 2, "识别": 1,
        "合同": 1, "票据": 3, "信息抽取": 3, "表单": 1, "录入": 1,
    },
    "data_analysis": {
        "analyze data": 3, "data analysis": 3, "analyze": 2, "analysis": 2, "csv": 3, "spreadsheet": 2,
        "excel": 2, "sale data": 3, "sale": 1, "metric": 2, "trend": 2, "statistic": 3, "chart": 2,
        "report": 1, "insight": 2, "kpi": 3, "dashboard": 2, "sql": 2, "database": 1, "revenue": 2,
        "number": 1, "anomal": 2, "anomaly": 2, "forecast": 2, "growth": 1, "conversion rate": 2,
        "数据分析": 4, "分析数据": 4, "分析": 1, "报表": 3, "销售数据": 3, "统计": 3, "趋势": 2, "图表": 2,
        "指标": 2, "表格": 1, "数据": 1, "营收": 2, "销量": 2, "异常": 1, "预测": 2, "增长": 1, "转化率": 2,
        "同比": 3, "环比": 3, "洞察": 2,
    },
    "web_research": {
        "research": 3, "search the web": 3, "web search": 3, "search online": 3, "google": 2, "look up": 2,
        "find information": 2, "investigate": 2, "competitor": 3, "market research": 3, "browse": 2,
        "crawl": 2, "scrape": 2, "website": 1, "source": 1, "latest": 1, "find out": 2, "search": 1,
        "online": 1, "internet": 2, "report on": 1, "deep dive": 2, "background": 1,
        "调研": 3, "研究": 2, "搜索": 2, "查找": 2, "网上": 2, "竞品": 3, "竞争对手": 3, "市场调研": 3,
        "爬取": 2, "抓取": 2, "上网": 2, "查一下": 2, "查询": 1, "资料收集": 3, "搜集": 2, "收集": 1,
        "互联网": 2, "网络": 1, "最新": 1, "背景": 1,
    },
    "scheduled_digest": {
        "digest": 3, "newsletter": 2, "rss": 3, "hacker news": 3, "news": 2, "headline": 1, "roundup": 3,
        "briefing": 3, "morning report": 3, "daily report": 2, "weekly report": 2, "every morning": 2,
        "daily": 1, "weekly": 1, "feed": 2, "top stor": 2, "top story": 2, "update": 1,
        "早报": 3, "日报": 3, "周报": 3, "简报": 3, "资讯": 2, "新闻": 2, "订阅": 2, "热点": 2, "热榜": 3,
        "定时": 1, "每天早上": 1, "推送": 1, "汇总": 1, "晨报": 3,
    },
    "code_review": {
        "code review": 4, "review code": 4, "pull request": 3, "merge request": 3, "pr": 2, "diff": 3,
        "commit": 2, "lint": 2, "bug": 1, "code quality": 3, "code": 2, "repository": 1, "repo": 1,
        "refactor": 2, "security issue": 1, "vulnerability": 1, "review": 1, "patch": 2,
        "代码审查": 4, "代码评审": 4, "审查代码": 4, "评审代码": 4, "代码": 2, "合并请求": 3, "提交": 1,
        "代码质量": 3, "漏洞": 1, "重构": 2, "代码规范": 3, "审查": 1, "审核代码": 4,
    },
    "sentiment_analysis": {
        "sentiment": 4, "emotion": 3, "feeling": 2, "positive or negative": 4, "positive": 1, "negative": 1,
        "opinion": 2, "tone": 2, "feedback": 1, "review": 1, "nps": 2, "satisfaction": 2, "happy": 1,
        "angry": 2, "mood": 2, "brand perception": 3, "unhappy": 1,
        "情感": 4, "情绪": 4, "正面": 2, "负面": 2, "好评": 3, "差评": 3, "评论": 1, "口碑": 3, "舆情": 4,
        "满意度": 2, "反馈": 1, "态度": 2, "正向": 2, "负向": 2, "不满": 1,
    },
    "lead_qualification": {
        "lead": 3, "prospect": 3, "qualify": 3, "qualification": 3, "lead scoring": 4, "score lead": 4,
        "sale pipeline": 3, "crm": 2, "inbound": 2, "bant": 4, "potential customer": 3, "signup": 1,
        "deal": 1, "sale team": 1, "demo request": 3, "enrich": 2, "budget": 1,
        "线索": 3, "潜在客户": 3, "销售线索": 4, "客户评分": 3, "资格": 2, "商机": 3, "意向客户": 3,
        "意向": 2, "获客": 2, "留资": 3, "打分": 1, "评分": 1, "跟进": 1, "试用申请": 2,
    },
    "tool_agent": {
        "agent": 2, "assistant": 2, "tool": 2, "use tool": 3, "function calling": 3, "calendar": 2,
        "book a meeting": 3, "schedule a meeting": 3, "meeting": 1, "todo": 2, "to do": 1, "task": 1,
        "personal assistant": 3, "call api": 2, "multi step": 2, "do thing": 1, "automate": 1,
        "weather": 2, "calculator": 2, "remind": 1, "reminder": 1, "book": 1, "create issue": 2,
        "智能体": 3, "助手": 2, "助理": 2, "工具": 2, "调用工具": 3, "日程": 2, "代理": 2, "预约": 2,
        "会议": 1, "待办": 2, "天气": 2, "计算器": 2, "提醒我": 1, "帮我办": 2, "自动化": 1, "多步": 1,
    },
}

# When nothing matches at all, a general assistant is the least surprising start.
DEFAULT_INTENT = "tool_agent"


# Broader phrasing, added after the first blind evaluation showed vocabulary gaps (synonyms
# and everyday wording for each job; a second, fresh blind set measures the effect).
_MORE: dict[str, dict[str, float]] = {
    "customer_support": {
        "buyer": 2, "shopper": 2, "client": 1, "parcel": 2, "package": 1, "shipment": 2, "delivery": 1, "exchange": 1,
        "warranty": 2, "claim": 1, "customer message": 3, "support inbox": 3, "auto reply": 2, "autoreply": 2,
        "service desk": 3, "user inquiry": 3, "customer care": 3, "aftersale": 3, "after sale": 3, "store": 1, "shop": 1,
        "买家": 2, "顾客": 2, "用户咨询": 3, "自动回复": 2, "淘宝": 2, "京东": 2, "拼多多": 2, "店铺": 2, "网店": 2,
        "保修": 2, "换货": 2, "快递": 1, "包裹": 2, "发货": 1, "售前": 2, "客户消息": 3, "回复买家": 3, "接待": 2,
    },
    "rag_qa": {
        "guideline": 2, "sourced": 2, "source answer": 2, "reference material": 3, "knowledge": 2, "spec": 1,
        "specification": 2, "look up in": 2, "query the": 1, "internal document": 3, "company doc": 3, "read our": 1,
        "资料库": 3, "参数资料": 2, "查阅": 2, "随时查询": 2, "准确答复": 2, "依据": 1, "出处": 2, "规范": 1, "指南": 2,
        "内部文档": 3, "查资料": 2, "答复": 1, "知识": 2,
    },
    "content_generation": {
        "instagram": 2, "tiktok": 2, "promo": 2, "promotional": 2, "announcement": 1, "press release": 3,
        "compose": 2, "copy for": 2, "write up": 1, "storytelling": 2, "video script": 3, "landing page": 2,
        "抖音": 2, "宣传": 2, "推广": 2, "种草": 3, "爆款": 2, "新闻稿": 3, "文章": 1, "写一段": 2, "写几条": 2, "帖子": 2,
    },
    "summarization": {
        "boil down": 3, "recap": 3, "short note": 2, "notes": 1, "synopsis": 3, "overview": 1, "in brief": 2,
        "main point": 2, "transcript": 1, "condensed": 3, "cliff note": 3, "review note": 1,
        "浓缩": 3, "笔记": 1, "复习": 1, "简要": 2, "摘出": 2, "概要": 3, "压缩": 1, "速览": 2, "转写": 1, "要点": 1,
    },
    "translation": {
        "render in": 2, "in italian": 2, "in german": 2, "in french": 2, "in spanish": 2, "in japanese": 2,
        "in korean": 2, "version in": 2, "german version": 3, "english version": 3, "chinese version": 3,
        "英文版": 3, "日文版": 3, "中文版": 3, "外文": 2, "版本": 1, "泰语": 2, "越南语": 2, "俄语": 2, "法语": 2,
    },
    "classification_routing": {
        "which queue": 3, "queue": 2, "belongs to": 2, "hand over": 2, "hand it over": 3, "send to the right": 3,
        "the right person": 3, "right people": 3, "bucket": 2, "sort into": 3, "tag each": 2, "which category": 3,
        "assign to": 3, "dispatcher": 3,
        "分一下类": 3, "派给": 3, "派单": 3, "属于": 1, "哪个部门": 3, "转交": 2, "分到": 2, "分给": 2, "指派": 3,
        "报修": 1, "工单分": 2, "类别": 2, "是哪一种": 2,
    },
    "data_extraction": {
        "bank statement": 3, "statement": 1, "transaction": 1, "table of": 2, "line item": 3, "fill in": 1,
        "capture field": 3, "pull field": 3, "key value": 2, "get the value": 2, "scan": 1, "digitize": 3,
        "体检报告": 2, "报告里": 1, "数值": 2, "整理出来": 2, "抄录": 3, "提出来": 2, "名片": 2, "表格化": 3, "摘录": 2,
    },
    "data_analysis": {
        "traffic": 2, "signup": 1, "number": 1, "what changed": 2, "pattern": 2, "quarter": 1, "monthly": 1, "rate": 1,
        "churn": 3, "retention": 3, "funnel": 3, "cohort": 3, "breakdown": 2, "compare period": 2, "figures": 2,
        "规律": 2, "用户增长": 3, "退货率": 3, "流量": 2, "留存": 3, "漏斗": 3, "波动": 2, "变化": 1, "占比": 2, "率": 1,
        "监控": 1, "下降": 1, "上升": 1,
    },
    "web_research": {
        "publicly": 2, "public information": 3, "gather information": 3, "what's known": 2, "find out about": 3,
        "funding": 2, "look into": 2, "background check": 3, "desk research": 3, "state of": 1, "landscape": 2,
        "了解一下": 2, "现状": 2, "信息来源": 3, "来源": 1, "行业": 1, "市场": 1, "公开": 2, "搜一下": 2, "论文": 1,
    },
    "scheduled_digest": {
        "recap of the week": 3, "week's top": 3, "top post": 2, "weekly recap": 3, "daily recap": 3, "trending": 2,
        "行业动态": 2, "动态": 1, "周报": 1, "每周一": 1, "精选": 2, "汇总成简报": 3,
    },
    "code_review": {
        "branch": 2, "changes": 1, "risky line": 3, "changeset": 3, "code change": 3, "review my change": 3,
        "static analysis": 3, "unit test": 1, "codebase": 2, "pull the diff": 2,
        "改动": 2, "潜在的bug": 3, "bug": 1, "分支": 2, "提交的": 2, "代码改动": 3, "变更": 1, "单元测试": 1,
    },
    "sentiment_analysis": {
        "friendly or hostile": 4, "hostile": 2, "friendly": 1, "attitude": 2, "polarity": 4, "tone of": 2,
        "frustrated": 2, "satisfied": 2, "how customers feel": 3, "mood of": 3,
        "弹幕": 2, "开心": 2, "不满": 2, "情绪是": 3, "正负面": 4, "好感": 2, "吐槽": 2, "感受": 2,
    },
    "lead_qualification": {
        "fit": 1, "good fit": 3, "rank the compan": 2, "webinar": 1, "attendee": 1, "worth follow": 3, "follow up": 1,
        "icp": 3, "ideal customer": 3, "buying intent": 3, "sales ready": 3, "mql": 3, "sql lead": 3,
        "值得跟进": 3, "跟进": 2, "展会": 2, "客户名单": 2, "理想客户": 3, "购买意向": 3, "意向度": 3, "成交": 2,
    },
    "tool_agent": {
        "helper": 2, "do math": 2, "look up the weather": 3, "when i ask": 2, "on my behalf": 3, "book a room": 3,
        "meeting room": 3, "send a message": 1, "orchestrate": 2, "several tools": 3,
        "小助手": 2, "订会议室": 3, "会议室": 2, "查天气": 3, "帮我做事": 2, "多个工具": 3, "发消息": 1, "帮我订": 2,
    },
}
for _intent, _cues in _MORE.items():
    for _cue, _weight in _cues.items():
        INTENT_CUES[_intent][_cue] = max(_weight, INTENT_CUES[_intent].get(_cue, 0))
