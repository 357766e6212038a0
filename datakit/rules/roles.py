"""R: message order and role rules.

Only the rules live here; the checks that emit them walk the messages once, in
:mod:`datakit.formats._chat` (role-based chat formats) and in the check function
of each non-chat format (``minimax``, ``sharegpt``, ``alpaca``).
"""

from datakit.rules.registry import define

STRICT_CHAT = ("siliconflow", "dashscope-sft", "dashscope-sft-image", "dashscope-dpo")
CHAT_SFT = ("openai", "mistral", "siliconflow", "dashscope-sft", "dashscope-sft-image")
MINIMAX = ("minimax", "minimax-pro")
PREFERENCE = ("dashscope-dpo", "openai-preference")
ALL_IDS = (*CHAT_SFT, *PREFERENCE, *MINIMAX, "sharegpt", "alpaca")

define("R001", "system-not-first", "error", """
    ## What it does
    Flags a `system` message (ShareGPT: `"from": "system"`) anywhere but at position 0.

    ## Why is this bad?
    These formats take one system prompt, at the start; the siliconflow seed says so in as
    many words ("如果有 system 角色消息,必须在数组首位") and the Qwen ChatML template of
    DashScope has a single leading system block. A later system message is rejected by the
    upload check or rendered where the model never saw one in pre-training.
    (OpenAI and Mistral accept system messages anywhere, so this rule does not apply to them.)

    ## Example
    `{"messages": [{"role": "user", "content": "hi"}, {"role": "system", "content": "be brief"},
    {"role": "assistant", "content": "hello"}]}`: move the system message to the front, or
    fold its text into the next user message.
    """, formats=(*STRICT_CHAT, "sharegpt"), source="002_2b7f8eacc6c5aff5.txt; 004_5798d0ceeceffe78.txt")

define("R002", "first-turn-not-user", "error", """
    ## What it does
    Flags a conversation whose first message after the optional system prompt is not a user
    turn (`user`, MiniMax `USER`, ShareGPT `human`).

    ## Why is this bad?
    The siliconflow seed requires it ("第一条非 system 消息必须是 user 角色"); DashScope's
    ChatML examples and both MiniMax formats open with the user as well. An assistant turn
    with nothing before it teaches the model to talk unprompted.

    ## Example
    `{"messages": [{"role": "assistant", "content": "Hi, how can I help?"},
    {"role": "user", "content": "..."}, {"role": "assistant", "content": "..."}]}`: drop the
    opening assistant turn, or put a user turn before it.
    """, formats=(*STRICT_CHAT, *MINIMAX, "sharegpt"),
    source="002_2b7f8eacc6c5aff5.txt; 004_5798d0ceeceffe78.txt; 000_ea3691b77837ac4d.txt")

define("R003", "roles-not-alternating", "error", """
    ## What it does
    Flags two consecutive user turns or two consecutive assistant turns where the format
    requires them to alternate. In ShareGPT, `human` and `observation` fill the user slot and
    `gpt` and `function_call` the assistant slot (the LLaMA-Factory convention). In
    `minimax-pro`, consecutive BOT turns are accepted when they come from different bots of
    `bot_setting` (a multi-bot group chat, which is why `bot_setting` is a list).

    ## Why is this bad?
    The siliconflow seed requires user and assistant to "交替、成对出现"; DashScope's ChatML
    and MiniMax's examples are strictly alternating, and LLaMA-Factory drops ShareGPT
    examples that are not. Two user turns in a row usually mean a lost assistant answer.

    ## Example
    `{"messages": [{"role": "user", "content": "a"}, {"role": "user", "content": "b"},
    {"role": "assistant", "content": "c"}]}`: merge the two user turns
    (`datakit fix --merge-consecutive`, or `datakit convert --merge-consecutive` while
    converting) or delete one.
    """, formats=(*STRICT_CHAT, *MINIMAX, "sharegpt"),
    fix="merge consecutive same-role turns into one (on request: --merge-consecutive)",
    source="002_2b7f8eacc6c5aff5.txt; 004_5798d0ceeceffe78.txt; 000_ea3691b77837ac4d.txt")

define("R004", "last-turn-not-assistant", "error", """
    ## What it does
    Flags a conversation that does not end on an assistant turn (`assistant`, MiniMax `BOT`,
    ShareGPT `gpt` or `function_call`). For `openai` this is a warning: the trailing turns are
    accepted but never trained on.

    ## Why is this bad?
    Only assistant turns are trained. siliconflow requires complete user/assistant pairs;
    mistral-common (the validator behind Mistral's API) rejects fine-tuning examples whose
    last message is not the assistant's; DashScope and MiniMax train the final answer. A
    trailing user or tool turn is wasted tokens at best, an upload error at worst.
    The Mistral seed's own function-calling example ends on an assistant message that makes
    a tool call (no tool reply): that is an assistant turn and passes.

    ## Example
    `{"messages": [{"role": "user", "content": "a"}, {"role": "assistant", "content": "b"},
    {"role": "user", "content": "thanks"}]}`: delete the trailing turn
    (`datakit fix --trim-trailing`, or `datakit convert --trim-trailing` while converting)
    or add the assistant's answer.
    """, formats=(*CHAT_SFT, *MINIMAX, "sharegpt"),
    fix="delete the turns after the last assistant turn (on request: --trim-trailing)",
    source="002_2b7f8eacc6c5aff5.txt; mistral-common (finetuning mode)")

define("R005", "prompt-not-ending-on-user", "error", """
    ## What it does
    Flags a preference (DPO) example whose prompt does not end on a user turn: DashScope's
    `messages` before `chosen`/`rejected`, OpenAI's `input.messages` before
    `preferred_output`/`non_preferred_output`.

    ## Why is this bad?
    The chosen and rejected answers both reply to the last user turn ("DPO 用于训练模型对
    <用户输入3> 的正负反馈"). If the prompt ends on an assistant turn, the pair answers
    nothing, or the final assistant turn is silently treated as context.

    ## Example
    `{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a"}],
    "chosen": {...}, "rejected": {...}}`: remove the trailing assistant turn, or move it
    into `chosen`.
    """, formats=PREFERENCE, source="004_5798d0ceeceffe78.txt; OpenAI preference fine-tuning guide")

define("R006", "preference-output-not-single-assistant", "error", """
    ## What it does
    Flags an OpenAI preference example whose `preferred_output` or `non_preferred_output` is
    not exactly one message with role `assistant`.

    ## Why is this bad?
    OpenAI's DPO trains on one assistant message on each side; more messages, none, or
    another role are rejected by the upload check.

    ## Example
    `"preferred_output": [{"role": "assistant", "content": "a"}, {"role": "assistant",
    "content": "b"}]`: keep one message, merging the text if both parts belong to the answer.
    """, formats=("openai-preference",), source="OpenAI preference fine-tuning guide (SPEC.md §3)")

define("R007", "preference-not-single-turn", "warning", """
    ## What it does
    Warns when an OpenAI preference example's `input.messages` holds more than one user turn
    or any assistant turn.

    ## Why is this bad?
    OpenAI documents DPO as single-turn ("we currently only train on one-turn
    conversations"): the preferred and non-preferred outputs must answer one user turn.
    Earlier turns are at best context the guide does not promise to support. Because the
    guide does not say that multi-turn inputs are rejected, this is a warning, not an error.

    ## Example
    `{"input": {"messages": [{"role": "user", "content": "q1"}, {"role": "assistant",
    "content": "a1"}, {"role": "user", "content": "q2"}]}, ...}`: keep the last user turn
    (and the system prompt), or summarise the earlier turns into it.
    """, formats=("openai-preference",), source="OpenAI preference fine-tuning guide (SPEC.md §3)")

define("R008", "no-assistant-message", "error", """
    ## What it does
    Flags an example without any assistant turn (`assistant`, `BOT`, `gpt`).

    ## Why is this bad?
    Loss is computed on assistant turns only, so the example trains nothing. OpenAI's own
    check script rejects it ("at least one assistant message"); siliconflow requires at
    least one user/assistant pair.

    ## Example
    `{"messages": [{"role": "system", "content": "..."}, {"role": "user", "content": "hi"}]}`:
    add the assistant's answer or drop the example.
    """, formats=(*CHAT_SFT, *MINIMAX, "sharegpt"),
    source="003_277bd4c3bdc3ca44.txt (OpenAI check script); 002_2b7f8eacc6c5aff5.txt")

define("R009", "no-trained-message", "warning", """
    ## What it does
    Warns when every assistant message of an example has `"weight": 0`.

    ## Why is this bad?
    `weight: 0` excludes a message from training (003). With all weights at 0 the example
    costs tokens and trains nothing.

    ## Example
    `{"messages": [{"role": "user", "content": "q"}, {"role": "assistant", "content": "a",
    "weight": 0}]}`: set `weight` to 1 on the turn you want learned, or drop the example.
    """, formats=("openai", "mistral"), source="003_277bd4c3bdc3ca44.txt")

define("R010", "weight-on-non-assistant", "error", """
    ## What it does
    Flags a `weight` key on a system, user or tool message.

    ## Why is this bad?
    `weight` selects which assistant messages are trained; OpenAI's API schema allows it on
    assistant messages only, and mistral-common only reads it on assistant messages. On
    other roles it is rejected or ignored, and usually means the weight is on the wrong turn.

    ## Example
    `{"role": "user", "content": "q", "weight": 0}`: remove the key, or move it to the
    assistant answer it was meant for.
    """, formats=("openai", "mistral"), fix="remove `weight` from non-assistant messages",
    source="003_277bd4c3bdc3ca44.txt; OpenAI API schema; mistral-common")

define("R011", "invalid-role-transition", "error", """
    ## What it does
    Flags a message whose role may not follow the previous one: after `system` come
    user/assistant/system; after `user` come assistant/system/user; after `assistant` come
    assistant/user/tool; after `tool` come assistant/tool.

    ## Why is this bad?
    mistral-common is the rule engine behind Mistral's fine-tuning API; a conversation that
    breaks its transition table fails validation after upload. The typical cases are a
    `tool` message right after a user or system message, and a system message right after
    a tool result.

    The Mistral seed is stricter than mistral-common after a tool result: "the `tool`
    message must be followed by another assistant message" (several results of parallel
    calls may follow one another). mistral-common also accepts `user` after `tool`; datakit
    follows the seed and reports it, since the assistant never answers the tool result.

    ## Example
    `[{"role": "user", "content": "q"}, {"role": "tool", "content": "42",
    "tool_call_id": "abcDEF123"}]`: a tool result needs the assistant's tool call before it.
    """, formats=("mistral",), source="001_4bfe51fd4156bead.txt; mistral-common (MistralRequestValidator._validate_message_order)")

define("R012", "empty-assistant-content", "warning", """
    ## What it does
    Flags an assistant turn (`assistant`, `BOT`, `gpt`, Alpaca `output`, a DPO answer) whose
    content is empty or only whitespace, when it has no tool call to stand in for content.
    For `mistral` it is an error: mistral-common rejects an assistant message with neither
    content nor tool calls.

    ## Why is this bad?
    The model is trained to answer with nothing; a few such examples teach it to stop
    early. They usually come from failed generations or a broken export.

    ## Example
    `{"role": "assistant", "content": "   "}`: fill in the answer or drop the example.
    """, formats=ALL_IDS, source="mistral-common; general data quality")

define("R013", "empty-user-content", "warning", """
    ## What it does
    Flags a user turn (`user`, `USER`, `human`, Alpaca `instruction` + `input`) that is empty
    or only whitespace (image parts count as content).

    ## Why is this bad?
    The assistant's answer then replies to nothing; the model learns answers without
    questions. It usually means the prompt was lost during export.

    ## Example
    `{"role": "user", "content": ""}`: restore the prompt or drop the example.
    """, formats=ALL_IDS, source="general data quality")

define("R014", "identical-preference-pair", "warning", """
    ## What it does
    Flags a preference example whose preferred and non-preferred answers are identical.

    ## Why is this bad?
    DPO learns from the difference between the two answers; identical answers give a zero
    gradient and waste the example. It usually means a column was copied twice.

    ## Example
    `"chosen": {"role": "assistant", "content": "A"}, "rejected": {"role": "assistant",
    "content": "A"}`: supply a genuinely worse answer in `rejected`, or drop the example.
    """, formats=PREFERENCE, source="DPO objective; general data quality")

define("R017", "weight-in-preference-example", "warning", """
    ## What it does
    Flags a `weight` key on a message of an OpenAI preference (DPO) example: in
    `input.messages`, `preferred_output` or `non_preferred_output`.

    ## Why is this bad?
    `weight` belongs to supervised chat fine-tuning, where it switches the training of an
    assistant turn on or off. Preference fine-tuning learns from the difference between the
    two answers and documents no `weight`: the key does nothing at best, and `weight: 0`
    on an answer suggests the pair was meant to be something else.

    ## Example
    `"preferred_output": [{"role": "assistant", "content": "A", "weight": 0}]`: remove
    `weight`, or, if the answer should not be learnt, drop the example.
    """, formats=("openai-preference",),
    source="beyond the seeds: OpenAI preference fine-tuning guide (no weight field)")

define("R015", "inconsistent-speaker-names", "error", """
    ## What it does
    Flags MiniMax speaker names that do not line up: in `minimax-pro`, a BOT message whose
    `sender_name` is not a `bot_name` of `bot_setting`, a USER message that speaks under a
    bot's name, or a `bot_name` defined twice; in `minimax`, a message `sender_name` that
    differs from `role_meta`, or `role_meta` giving the bot and the user the same name.

    ## Why is this bad?
    In the seed's examples every BOT speaks as a `bot_setting` bot and `role_meta` names
    both speakers. At inference, `reply_constraints` asks a named bot to answer; a model
    trained on answers from unknown names does not learn that bot's persona.

    ## Example
    `{"bot_setting": [{"bot_name": "文本总结助手", "content": "..."}], "messages":
    [{"sender_type": "USER", "sender_name": "用户", "text": "..."}, {"sender_type": "BOT",
    "sender_name": "助手", "text": "..."}]}`: rename the BOT to `文本总结助手` or add a
    `bot_setting` entry for `助手`.
    """, formats=MINIMAX, source="000_ea3691b77837ac4d.txt")

define("R016", "malformed-history", "error", """
    ## What it does
    Flags an Alpaca `history` entry that is not a pair `[instruction, response]` of two
    strings.

    ## Why is this bad?
    LLaMA-Factory and the converters read `history` as earlier (user, assistant) turns; a
    triple, a single string or an object is dropped or mis-assigned, so turns silently swap
    roles.

    ## Example
    `{"instruction": "q2", "input": "", "output": "a2", "history": [["q1"]]}`: give every
    entry both halves, `[["q1", "a1"]]`.
    """, formats=("alpaca",), source="beyond the seeds: Alpaca / LLaMA-Factory convention")
