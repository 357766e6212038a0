"""D001–D099: whole-file and train/validation checks against a target."""

from datakit.rules.registry import define

define("D001", "file-too-large", "error", """
    ## What it does
    Flags a file larger than the target's upload limit (Mistral 512 MB, DashScope 300 MB,
    OpenAI 1 GB).

    ## Why is this bad?
    The upload is refused, often late (Mistral answers HTTP 413 above about 500 MB).

    ## Example
    A 1.3 GB Mistral training file. Split it into compliant chunks:
    `datakit chunk train.jsonl --target mistral -o chunks/`.
    """, source="001, 003, 004")

define("D002", "file-over-single-request-limit", "warning", """
    ## What it does
    Warns when a file is under the provider's documented limit but over a stricter,
    commonly hit single-request limit (OpenAI's Files API takes 512 MB per request).

    ## Why is this bad?
    The plain upload endpoint refuses it; you need the multi-part Uploads API.

    ## Example
    A 700 MB OpenAI file. Upload it in parts, or `datakit chunk --max-bytes 512MB`.
    """, source="SPEC.md §2")

define("D003", "too-few-examples", "error", """
    ## What it does
    Flags a training file with fewer examples than the target's minimum.

    ## Why is this bad?
    OpenAI and MiniMax refuse to start a job on fewer than 10 examples.

    ## Example
    A 5-line smoke-test file. Add examples (MiniMax recommends 50–100).
    """, source="000; OpenAI fine-tuning guide")

define("D004", "duplicate-example", "warning", """
    ## What it does
    Flags an example identical (byte for byte, ignoring the line ending) to an earlier
    one in the same file.

    ## Why is this bad?
    Duplicates over-weight some examples, cost tokens twice and inflate validation scores.

    ## Example
    The same line appended twice by a merge script. Remove it (`datakit fix` can).
    """, fix="remove exact duplicates, keeping the first")

define("D005", "validation-over-cap", "error", """
    ## What it does
    Flags a validation file over the target's cap: Mistral allows at most
    min(1 MB, 5 % of the training data); DashScope uses at most 1,000 validation examples.

    ## Why is this bad?
    Mistral rejects the job; DashScope ignores the excess.

    ## Example
    A 3 MB Mistral validation file next to a 20 MB training file. Re-split with
    `datakit split --target mistral`.
    """, source="001, 004")

define("D006", "validation-duplicates-training", "error", """
    ## What it does
    Flags a validation example that also appears, byte for byte, in the training file.

    ## Why is this bad?
    Leakage: validation loss then measures memorisation, not generalisation.

    ## Example
    A validation file cut from the training file without removing the lines. Use
    `datakit split`, which never puts an example on both sides.
    """)

define("D007", "validation-file-required", "warning", """
    ## What it does
    Warns that the target requires a separate validation file and none was given
    (`--validation FILE`).

    ## Why is this bad?
    MiniMax requires a training and a validation file for every job.

    ## Example
    `datakit lint train.jsonl --target minimax --validation val.jsonl`; create one with
    `datakit split --target minimax`.
    """, source="000")
