"""C: what a conversion could not carry, and what it changed.

Three kinds of conversion diagnostics, by number range:

* ``C001``-``C019`` **losses**: the target cannot say something the source said.
  The example *can* be written without it; ``--on-loss`` decides whether it is
  (``warn``), is not (``error``, the default) or goes to the rejects file (``drop``).
* ``C020``-``C049`` **cannot convert**: no valid example of the target format
  can be made. The example is never written; under ``--on-loss drop`` it goes
  to the rejects file, otherwise the run exits 1.
* ``C050``-``C099`` **changes** (info): the output differs from a literal
  translation in a documented way that keeps the meaning (new tool-call ids,
  repaired arguments, merged turns). They are counted in the summary.
"""

from datakit.rules.registry import define

LOSS_RANGE = range(1, 20)
FATAL_RANGE = range(20, 50)
CHANGE_RANGE = range(50, 100)


def kind(code: str) -> str:
    """``loss``, ``fatal`` or ``change`` for a C code."""
    n = int(code[1:])
    if n in LOSS_RANGE:
        return "loss"
    if n in FATAL_RANGE:
        return "fatal"
    return "change"


# --------------------------------------------------------------------------- losses

define("C001", "tools-dropped", "error", """
    ## What it does
    Flags a conversion into a format that cannot carry tool calls, tool results or tool
    definitions (siliconflow, DashScope, MiniMax, Alpaca).

    ## Why is this bad?
    The assistant's function calls and the results it read are part of what the model
    learns. Dropping them silently (as mistral-finetune's reformat script does with every
    function-calling sample) trains the model on answers that refer to results it never saw.

    Also flags tool definitions of a kind other than `function` (OpenAI Assistants'
    `retrieval`, `code_interpreter`, `file_search`) in a format with tool calling:
    OpenAI, Mistral and ShareGPT tools are functions only.

    ## Example
    `{"role": "assistant", "tool_calls": [...]}` converted to `siliconflow`. With
    `--on-loss warn` the tool turns are removed and the remaining turns are written.
    `"tools": [{"type": "retrieval"}]` converted to `mistral`: with `--on-loss warn` the
    definition is removed.
    """, source="002_2b7f8eacc6c5aff5.txt (no tool role); 004 and 000 document no tools")

define("C002", "weight-dropped", "error", """
    ## What it does
    Flags an assistant turn with `"weight": 0` converted into a format that trains every
    assistant turn (DashScope, siliconflow, MiniMax, ShareGPT, Alpaca).

    ## Why is this bad?
    Weight 0 means "do not learn this answer". Without it the model is trained on the very
    turn the author excluded (in OpenAI's example, the non-sarcastic answer).

    ## Example
    `{"role": "assistant", "content": "Paris", "weight": 0}` converted to `dashscope-sft`.
    DashScope documents that `weight` is not supported and every assistant output is trained.
    """, source="004_5798d0ceeceffe78.txt; 003_277bd4c3bdc3ca44.txt")

define("C003", "system-dropped", "error", """
    ## What it does
    Flags a system message the target cannot hold where it is: a system message after
    the first turn into a format that allows one leading system prompt (siliconflow,
    DashScope, MiniMax, ShareGPT, Alpaca), or after an assistant or tool turn in Mistral.

    ## Why is this bad?
    The instruction is removed from the training example, so the model learns the
    behaviour without the instruction that asked for it.

    ## Example
    `[user, assistant, {"role": "system", ...}, user, assistant]` converted to `siliconflow`,
    whose system message, if any, must come first.
    """, source="002_2b7f8eacc6c5aff5.txt; mistral-common role transitions")

define("C004", "history-dropped", "error", """
    ## What it does
    Flags a multi-turn preference example converted to OpenAI's preference format, which
    takes a single-turn prompt.

    ## Why is this bad?
    The earlier turns are the context the chosen and rejected answers respond to; the
    lossy conversion keeps only the system prompt and the last user turn.

    ## Example
    A `dashscope-dpo` line whose `messages` hold three user turns, converted to
    `openai-preference`.
    """, source="OpenAI preference fine-tuning guide (single turn)")

define("C005", "keys-dropped", "error", """
    ## What it does
    Flags keys that the target format does not allow and cannot translate: unknown keys
    on messages or content parts, or options without an equivalent (e.g.
    `parallel_tool_calls: false` outside OpenAI).

    ## Why is this bad?
    The target's schema rejects them, so they must go; axolotl and others drop such keys
    without saying so, which hides data the author thought was there.

    ## Example
    `{"from": "gpt", "value": "...", "loss": false}` (a per-turn key) converted to `mistral`.
    """)

define("C006", "names-dropped", "error", """
    ## What it does
    Flags participant names (OpenAI `name`, MiniMax `sender_name`, `bot_name`,
    `user_name`) converted into a format with no place for them.

    ## Why is this bad?
    Names are part of the prompt the model sees (MiniMax's persona, OpenAI's multi-party
    chats). Removing them changes what is trained.

    ## Example
    A `minimax-pro` example whose BOT is `文本总结助手` converted to `dashscope-sft`.
    Use `--accept C006` when the names do not matter.
    """, source="000_ea3691b77837ac4d.txt; 004 (name not supported)")

define("C007", "media-dropped", "error", """
    ## What it does
    Flags image parts (or other non-text parts such as audio or refusals) converted into a
    format that carries text only, or placed where the target does not allow them
    (images in assistant messages).

    ## Why is this bad?
    A question about an image means nothing without the image.

    ## Example
    An OpenAI vision example with an `image_url` part converted to `dashscope-sft`; use
    `dashscope-sft-image` instead.
    """)

define("C008", "rejected-answer-dropped", "error", """
    ## What it does
    Flags a preference (DPO) example converted into a supervised format.

    ## Why is this bad?
    The lossy conversion keeps the chosen answer as the last assistant turn and drops the
    rejected one, so the preference signal is gone.

    ## Example
    A `dashscope-dpo` line converted to `openai`: the output ends with the `chosen` answer.
    """)

define("C009", "tool-call-text-dropped", "error", """
    ## What it does
    Flags an assistant message with both text and tool calls converted into a format where
    a tool-calling turn has no text (Mistral, ShareGPT).

    ## Why is this bad?
    The text (often the model's reasoning before the call) is removed from training.

    ## Example
    `{"role": "assistant", "content": "Let me check.", "tool_calls": [...]}` converted to
    `mistral`, which requires an assistant message with `tool_calls` to have no `content`.
    """, source="001_4bfe51fd4156bead.txt")

define("C010", "image-unavailable", "error", """
    ## What it does
    Flags an image reference that cannot be carried into the target: a file name that is
    not in the source archive or directory, a remote URL when the target needs the
    image bytes (a DashScope image zip), or an image the target's linter rejects: a data
    URL that is not a base64 image (`data:application/pdf;base64,...`, no media type,
    characters outside the base64 alphabet), a type the target does not accept, or an
    image over OpenAI's 10 MB.

    ## Why is this bad?
    The provider checks that every referenced image exists and rejects the example.

    ## Example
    `{"image": "cat.png"}` in a zip without `cat.png`; or `https://...` converted to
    `dashscope-sft-image` (datakit does not download anything).
    """, source="004_5798d0ceeceffe78.txt")

# --------------------------------------------------------------------------- cannot convert

define("C020", "unreadable-source", "error", """
    ## What it does
    Flags an example that does not have the shape of its source format (or is not a JSON
    object), so it cannot be read into the conversion model.

    ## Why is this bad?
    Nothing can be converted from it; `datakit lint --format SOURCE` explains the problem.

    ## Example
    A ShareGPT line whose `conversations` is a string.
    """)

define("C021", "unknown-source-format", "error", """
    ## What it does
    Flags an example whose format cannot be recognised from its keys when `--from auto`.

    ## Why is this bad?
    Without knowing the source format, datakit cannot tell what its fields mean.

    ## Example
    `{"text": "..."}`. Pass `--from FORMAT` if the detection is wrong.
    """)

define("C022", "preference-pair-missing", "error", """
    ## What it does
    Flags a supervised example converted into a preference (DPO) format.

    ## Why is this bad?
    A preference example needs a rejected answer, which cannot be invented.

    ## Example
    An `openai` chat example converted to `dashscope-dpo`.
    """)

define("C023", "role-order-unsupported", "error", """
    ## What it does
    Flags a turn order the target cannot express: consecutive turns of the same role in a
    format that requires user and assistant to alternate, or a conversation that does not
    start with a user turn.

    ## Why is this bad?
    siliconflow, DashScope and Alpaca require strict user/assistant pairs; the provider
    rejects the example. Pairing turns by position instead (as some converters do)
    silently attaches answers to the wrong questions.

    ## Example
    `[user, user, assistant]` converted to `siliconflow`. Pass `--merge-consecutive` to join
    the two user turns (reported as C052).
    """, source="002_2b7f8eacc6c5aff5.txt")

define("C024", "trailing-turn", "error", """
    ## What it does
    Flags a conversation that ends on the wrong role for the target: a user or tool turn
    where the target needs a final assistant turn (Mistral, siliconflow, DashScope SFT,
    Alpaca), or a preference prompt that does not end on a user turn.

    ## Why is this bad?
    mistral-common rejects fine-tuning requests whose last message is not the assistant's;
    siliconflow requires complete user/assistant pairs.

    ## Example
    `[user, assistant, user]` converted to `mistral`. Pass `--trim-trailing` to drop the
    trailing user turn (reported as C053).
    """, source="mistral-common fine-tuning validation; 002_2b7f8eacc6c5aff5.txt")

define("C025", "invalid-tool-arguments", "error", """
    ## What it does
    Flags tool-call `arguments` that are not a JSON object and cannot be repaired
    unambiguously.

    ## Why is this bad?
    OpenAI and Mistral require `arguments` to be JSON text encoding an object. datakit
    repairs a Python `repr` of a dict and double-encoded JSON (C051); anything else
    would be a guess.

    ## Example
    `"arguments": "word=listen"` or `"arguments": "[1, 2]"`.
    """, source="OpenAI API schema; mistral-common")

define("C026", "tool-pairing-broken", "error", """
    ## What it does
    Flags tool results that cannot be matched to a tool call: a `tool_call_id` no earlier
    call has, or more results than calls.

    ## Why is this bad?
    The target pairs calls and results by id (or, in ShareGPT, by position). A result
    without its call trains the model on an impossible conversation; remapping ids
    would silently attach it to the wrong call.

    ## Example
    `{"role": "tool", "tool_call_id": "call_9", ...}` when no assistant message made `call_9`.

    In a format that pairs by id (OpenAI, Mistral) it also flags a tool call the
    conversation moves on from without a result (`[user, assistant(tool_calls), user]`),
    a result that answers a call of an earlier turn or repeats one, and a result that
    does not follow a tool-calling turn. A tool call in the last message, with no result
    at all, is kept (the Mistral seed's own example ends so).
    """, source="001_4bfe51fd4156bead.txt")

define("C027", "tool-definition-invalid", "error", """
    ## What it does
    Flags a call to a function that `tools` does not define, where the target requires
    every called tool to be defined (Mistral), or a function name the target does not
    accept (`^[a-zA-Z0-9_-]{1,64}$`, in a call or, for OpenAI and Mistral, in a
    definition). For OpenAI and Mistral it also flags a tool definition that is not an
    object with a `function` object naming the function, and `parameters` that are not
    a valid JSON Schema (Draft 7, as `datakit lint` T016 checks).

    ## Why is this bad?
    Mistral rejects the example; the model would learn to call a function it was never
    shown. Renaming a function or rewriting its schema would change what the model
    learns to call, so datakit does neither.

    ## Example
    A ShareGPT corpus without a `tools` column converted to `mistral`; a definition with
    `"parameters": {"type": "str"}` or the name `get.weather`.
    """, source="001_4bfe51fd4156bead.txt; mistral-common")

define("C028", "nothing-to-train", "error", """
    ## What it does
    Flags an example with no assistant turn left after conversion.

    ## Why is this bad?
    Loss is computed on assistant turns only: the example would train nothing, and
    OpenAI rejects examples without an assistant message.

    ## Example
    A conversation made only of tool calls, converted to `siliconflow` with
    `--on-loss warn`: once the tool turns are removed, nothing is left.
    """)

define("C029", "empty-answer", "error", """
    ## What it does
    Flags an assistant turn with no text (empty or whitespace only) and no tool calls,
    converted to a format that rejects it (Mistral).

    ## Why is this bad?
    mistral-common rejects an assistant message with neither content nor tool calls, so
    `datakit lint --format mistral` reports R012 as an error. Dropping the turn would
    leave the question unanswered or two user turns in a row; inventing an answer is
    not possible.

    ## Example
    ShareGPT `{"from": "gpt", "value": ""}` converted to `mistral`: write the answer or
    leave the example out (`--on-loss drop` sends it to the rejects file).
    """, source="mistral-common (assistant message without content or tool calls)")

# --------------------------------------------------------------------------- changes

define("C050", "tool-call-ids-assigned", "info", """
    ## What it does
    Reports tool-call ids that were generated (the source had none, e.g. ShareGPT) or
    remapped to the target's pattern (Mistral: `^[a-zA-Z0-9]{9}$`).

    ## Why is this bad?
    It is not: ids are labels that pair a call with its result. The new ids are
    deterministic (a hash of the original id and the call's position), unique within the
    conversation and applied to both the call and its `tool_call_id`; valid ids are kept.

    ## Example
    `call_abc123` becomes a 9-character id such as `Xk3v9QpLm` in Mistral output.
    """, source="001_4bfe51fd4156bead.txt")

define("C051", "tool-arguments-repaired", "info", """
    ## What it does
    Reports tool-call arguments that were repaired: a Python `repr` of a dict, double-encoded
    JSON, an empty string (no arguments) or an object instead of a string.

    ## Why is this bad?
    The source was invalid for OpenAI and Mistral; the repair is applied only when it is
    unambiguous (the text evaluates to a dict of JSON-compatible values).

    ## Example
    `"arguments": "{'word': 'listen'}"` becomes `"{\\"word\\": \\"listen\\"}"`.
    """)

define("C052", "turns-merged", "info", """
    ## What it does
    Reports consecutive turns of the same role joined into one (`--merge-consecutive`),
    with a blank line between their texts.

    ## Why is this bad?
    Strict formats require alternation; merging keeps all the text.

    ## Example
    `[user "Hi", user "Are you there?", assistant ...]` becomes one user turn.
    """)

define("C053", "trailing-turn-trimmed", "info", """
    ## What it does
    Reports trailing turns after the last assistant turn that were removed
    (`--trim-trailing`).

    ## Why is this bad?
    Nothing is trained on them, but the target rejects a conversation that ends on them.

    ## Example
    `[user, assistant, user]` becomes `[user, assistant]`.
    """)

define("C054", "default-name-filled", "info", """
    ## What it does
    Reports a name the target requires that was filled from `--bot-name` / `--user-name`
    (MiniMax's `sender_name` and `bot_setting[].bot_name`).

    ## Why is this bad?
    The names are part of the MiniMax prompt; check that the defaults suit your persona.

    ## Example
    An OpenAI example converted to `minimax-pro` gets `sender_name` `用户` and `MM智能助理`.
    """, source="000_ea3691b77837ac4d.txt")

define("C055", "tool-results-reordered", "info", """
    ## What it does
    Reports tool results moved into the order of their calls, for a format that pairs
    calls and results by position (ShareGPT).

    ## Why is this bad?
    Without ids, order is the only pairing; reordering keeps each result with its call.

    ## Example
    Calls `a`, `b` answered `b`, `a` in OpenAI become results `a`, `b` in ShareGPT.
    """)

define("C056", "tool-definition-completed", "info", """
    ## What it does
    Reports a tool definition completed for the target: the `{"type": "function"}` wrapper
    added, or a missing `parameters` filled with an empty object schema.

    ## Why is this bad?
    Mistral and OpenAI require both; an absent `parameters` means "no parameters".

    ## Example
    ShareGPT `tools` `[{"name": "now"}]` becomes
    `[{"type": "function", "function": {"name": "now", "parameters": {"type": "object", "properties": {}}}}]`.
    """)

define("C057", "image-moved", "info", """
    ## What it does
    Reports an image moved between a DashScope zip and an OpenAI/Mistral data URL: a
    zip member embedded as a base64 `data:` URL, or a data URL written to the output
    zip as a file (named after a hash of its bytes).

    ## Why is this bad?
    It is not: the image bytes are the same. Data URLs make a line about 4/3 the size
    of the image, which counts against the provider's file-size limit.

    ## Example
    `{"image": "cat.png"}` in a `dashscope-sft-image` zip becomes
    `{"type": "image_url", "image_url": {"url": "data:image/png;base64,..."}}` in `openai`.
    """, source="004_5798d0ceeceffe78.txt")

define("C058", "parallel-calls-split", "info", """
    ## What it does
    Reports an assistant turn with several tool calls written to ShareGPT as one
    `function_call`/`observation` pair per call, in call order.

    ## Why is this bad?
    ShareGPT turns alternate between the model and the user/tool side, so one turn cannot
    be followed by several observations. Every call and result is kept; only the turn
    boundaries change.

    ## Example
    One assistant turn calling `current_time` and `get_weather`, then two tool results,
    becomes `function_call`, `observation`, `function_call`, `observation`.
    """)

LOSS_CODES = tuple(c for c in ("C001", "C002", "C003", "C004", "C005", "C006", "C007", "C008",
                               "C009", "C010"))
