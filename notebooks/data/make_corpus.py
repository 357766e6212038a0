"""Write ``support_chats.jsonl``: the small, deliberately messy corpus of the tutorial.

An imaginary bilingual (English / 简体中文) support assistant for a bookshop. The file is
in OpenAI chat format and has the problems real exports have:

* a UTF-8 byte-order mark on the first line and one CRLF line ending;
* exact duplicate examples;
* legacy ``functions`` / ``function_call`` examples;
* tool calls whose ``arguments`` are JSON objects instead of JSON text;
* a ``weight`` on a user message;
* examples with no assistant answer at all (nothing to fix: they must be dropped);
* a few very long examples (a pasted document to summarise) that are over the
  2,048-token default ``max_length`` of DashScope.

The file is committed; this script documents how it was made and regenerates it
byte for byte (``python notebooks/data/make_corpus.py``).
"""

from __future__ import annotations

import json
import random
from pathlib import Path

HERE = Path(__file__).resolve().parent
OUT = HERE / "support_chats.jsonl"

SYSTEM_EN = "You are the support assistant of Paper Lantern Books. Answer briefly and kindly."
SYSTEM_ZH = "你是纸灯笼书店的客服助手，请简洁、礼貌地回答。"

QA_EN = [
    ("Do you ship to Canada?", "Yes. Shipping to Canada takes 5 to 8 business days."),
    ("Can I return a book I already read?", "Returns are accepted within 30 days if the book is in resaleable condition."),
    ("What are your opening hours?", "We are open 9:00 to 19:00 Monday to Saturday, and 11:00 to 17:00 on Sunday."),
    ("Do you sell gift cards?", "Yes, gift cards from 10 to 200 dollars, sent by email or printed in store."),
    ("Is there a student discount?", "Students get 10% off with a valid student card."),
    ("How do I track my order?", "Use the tracking link in your confirmation email, or give me your order number."),
    ("Can you order a book that is out of stock?", "Usually yes: special orders arrive in about two weeks."),
    ("Do you buy used books?", "We buy used books on Tuesdays; bring them to the front desk."),
    ("Is the café open on holidays?", "The café closes on public holidays; the shop stays open until 15:00."),
    ("Do you have audiobooks?", "Not yet. We only sell printed books and e-book vouchers."),
]
QA_ZH = [
    ("你们周日营业吗？", "周日营业，时间是上午十一点到下午五点。"),
    ("可以开发票吗？", "可以，结账时提供抬头和税号即可开具电子发票。"),
    ("有没有《三体》的精装版？", "有的，精装版目前有库存，售价一百二十八元。"),
    ("会员积分怎么用？", "每一百积分可抵扣一元，结账时出示会员码即可。"),
    ("快递一般几天能到？", "国内一般两到四天送达，偏远地区可能需要六天。"),
    ("书有破损可以换吗？", "收到后七天内发现破损，可免费换新，请拍照联系我们。"),
    ("你们卖日文原版书吗？", "有少量日文原版书，主要是小说和漫画，可以到店查看。"),
    ("可以预订新书吗？", "可以，新书上市前两周开放预订，预订享九五折。"),
]

TOOLS = [{
    "type": "function",
    "function": {
        "name": "get_order_status",
        "description": "Look up the status of an order by its number.",
        "parameters": {"type": "object",
                       "properties": {"order_id": {"type": "string"}},
                       "required": ["order_id"]},
    },
}, {
    "type": "function",
    "function": {
        "name": "check_stock",
        "description": "Check how many copies of a book are in stock.",
        "parameters": {"type": "object",
                       "properties": {"title": {"type": "string"}},
                       "required": ["title"]},
    },
}]
FUNCTIONS = [t["function"] for t in TOOLS]

# Sentences for the long "summarise this" examples (mixed English and Chinese).
SENT_EN = [
    "The quarterly report shows that online sales grew faster than sales in the shops.",
    "Readers in the north bought more translated fiction than in previous years.",
    "The children's section was reorganised by age group instead of by publisher.",
    "Several customers asked for longer opening hours during the exam period.",
    "The café's new menu raised the average basket size on weekends.",
    "Delivery times improved after the warehouse moved closer to the city centre.",
    "Staff training focused on recommending books across genres.",
    "The loyalty programme gained members mostly through the mobile app.",
]
SENT_ZH = [
    "本季度线上销售的增长速度明显快于门店销售。",
    "北方地区的读者购买翻译小说的数量比往年更多。",
    "童书区改为按年龄段而不是按出版社陈列。",
    "考试期间，不少顾客希望延长营业时间。",
    "咖啡区推出新菜单后，周末的客单价有所提高。",
    "仓库搬到市中心附近以后，配送时间缩短了。",
    "员工培训的重点是跨类型推荐图书。",
    "会员计划的新会员主要来自手机应用。",
]


def chat(system, pairs, **extra):
    msgs = [{"role": "system", "content": system}] if system else []
    for q, a in pairs:
        msgs += [{"role": "user", "content": q}, {"role": "assistant", "content": a}]
    return {"messages": msgs, **extra}


def long_example(rng, sentences, system):
    doc = " ".join(rng.choice(SENT_EN) if rng.random() < 0.5 else rng.choice(SENT_ZH)
                   for _ in range(sentences))
    return chat(system, [("Please summarise this internal report for the team:\n\n" + doc,
                          "Summary: online sales are growing, delivery is faster, and customers "
                          "want longer opening hours. 总结：线上增长快，配送更快，顾客希望延长营业时间。")])


def tool_example(order_id):
    return {"messages": [
        {"role": "system", "content": SYSTEM_EN},
        {"role": "user", "content": f"Where is my order {order_id}?"},
        {"role": "assistant", "tool_calls": [{
            "id": f"call_{order_id.lower()}", "type": "function",
            # an object instead of JSON text: T009, fixable
            "function": {"name": "get_order_status", "arguments": {"order_id": order_id}}}]},
        {"role": "tool", "tool_call_id": f"call_{order_id.lower()}",
         "content": json.dumps({"order_id": order_id, "status": "shipped"})},
        {"role": "assistant", "content": f"Order {order_id} has shipped and should arrive soon."},
    ], "tools": TOOLS}


def legacy_example(title):
    return {"messages": [
        {"role": "user", "content": f"《{title}》还有货吗？"},
        {"role": "assistant", "content": None,
         "function_call": {"name": "check_stock", "arguments": json.dumps({"title": title}, ensure_ascii=False)}},
        {"role": "function", "name": "check_stock", "content": json.dumps({"title": title, "copies": 3}, ensure_ascii=False)},
        {"role": "assistant", "content": f"《{title}》目前还有三本现货。"},
    ], "functions": FUNCTIONS}


def build() -> list[bytes]:
    rng = random.Random(20240611)
    rows = []
    for i, qa in enumerate(QA_EN):
        rows.append(chat(SYSTEM_EN, [qa] + ([QA_EN[(i + 3) % len(QA_EN)]] if i % 3 == 0 else [])))
    for i, qa in enumerate(QA_ZH):
        rows.append(chat(SYSTEM_ZH, [qa] + ([QA_ZH[(i + 2) % len(QA_ZH)]] if i % 2 == 0 else [])))
    # medium-length multi-turn chats
    for k in range(6):
        pairs = rng.sample(QA_EN + QA_ZH, 4 + k)
        rows.append(chat(SYSTEM_EN if k % 2 else SYSTEM_ZH, pairs))
    # documents to summarise: two moderate, three over 2,048 Qwen tokens
    for n in (25, 60, 170, 230, 300):
        rows.append(long_example(rng, n, SYSTEM_EN))
    rows += [tool_example("A1042"), tool_example("B2210"), tool_example("C0315")]
    rows += [legacy_example("三体"), legacy_example("活着")]
    # a weight on a user message (R010, fixable)
    w = chat(SYSTEM_EN, [QA_EN[4]])
    w["messages"][1]["weight"] = 1
    rows.append(w)
    # no assistant answer at all: nothing to fix, must be dropped (R004/R008)
    rows.append({"messages": [{"role": "system", "content": SYSTEM_ZH},
                              {"role": "user", "content": "你好，在吗？"}]})
    rows.append({"messages": [{"role": "user", "content": "Hello? Anyone there?"}]})
    rng.shuffle(rows)
    # exact duplicates of three earlier rows, placed later in the file (D004)
    for src in (2, 5, 11):
        rows.insert(rng.randrange(src + 1, len(rows)), rows[src])
    lines = [json.dumps(r, ensure_ascii=False).encode("utf-8") + b"\n" for r in rows]
    lines[0] = b"\xef\xbb\xbf" + lines[0]          # BOM (J002)
    lines[7] = lines[7][:-1] + b"\r\n"             # CRLF (J003)
    return lines


if __name__ == "__main__":
    OUT.write_bytes(b"".join(build()))
    print(f"wrote {OUT} ({OUT.stat().st_size} bytes)")
