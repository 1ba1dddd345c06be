"""A case label at the start of an item is found with fixed patterns (pilot.generation.switches.
_label_end): it must answer exactly as the pattern compiled per label that it replaced, for
plurals, -y/-ies words, nouns after the label, bracketed remarks, separators, words that merely
start with the label, Chinese labels and case folding beyond ASCII."""

from __future__ import annotations

import itertools
import re

import pytest

from pilot.generation.switches import _label_end, _label_end_re, _start

LABELS = ["bug", "billing", "partnership inquiry", "P1", "高优先级", "urgent", "VIP客户", "ſale", "Kelvin", "sale",
          "high-priority", "退款", "day"]
BODIES = ["bug: email dev", "bugs → slack", "bugfix goes to", "Billing requests: send to finance", "billing-team gets",
          "partnership inquiries: forward to bd", "Partnership Inquiry (B2B): forward", "P1 alerts => page on-call",
          "P10 alerts", "高优先级的：打电话", "urgent ones - sms", "vip客户的 发邮件", "sale: x", "ſale: x", "Kelvin: y",
          "KELVINS: y", "sales: post", "saleses", "high-priority tickets: page", "退款类的 → 写入表格", "days: x", "dayz",
          "da", "", "Sale (retail): ping", "bug (minor)  :  ignore"]


@pytest.mark.parametrize(("label", "body"), list(itertools.product(LABELS, BODIES)))
def test_the_fixed_patterns_answer_like_the_per_label_pattern(label: str, body: str) -> None:
    y_word = re.search(r"[^aeiou]y$", label) is not None
    assert _label_end(body, label) == _label_end_re(body, label, y_word, label[:-1] if y_word else label)


def test_an_item_is_split_into_its_label_and_action() -> None:
    assert _start("Partnership inquiries (B2B): forward to bd@acme.com", ["partnership inquiry", "billing"]) == (
        "partnership inquiry", "forward to bd@acme.com")
    assert _start("bugfix requests go to dev", ["bug"]) is None  # "bugfix" is not the label "bug"
    assert _start("send P1 alerts: page the on-call engineer", ["P1", "P2"]) == ("P1", "send page the on-call engineer")
