"""D101–D199: train/validation splitting checks (``datakit split`` / ``check-split``)."""

from datakit.rules.registry import define

define("D101", "validation-shares-group", "error", """
    ## What it does
    Flags a validation example whose group key (by default the normalised system
    prompt plus the first user turn) also occurs in the training file.

    ## Why is this bad?
    Near-copies of one conversation on both sides leak the answer into validation:
    the validation loss looks better than the model is, and early stopping or
    checkpoint selection is made on contaminated data. Exact duplicates are caught
    by D006; this rule also catches copies that differ after the first user turn.

    ## Example
    Train line 12 and validation line 3 both start with the system prompt "You are a
    support bot" and the user turn "How do I reset my password?". Re-split with
    `datakit split IN -o TRAIN VAL`, which keeps every group on one side.
    """)

define("D102", "split-cap-unmet", "error", """
    ## What it does
    Reports a provider cap that a split cannot meet: MiniMax needs a non-empty
    validation file with at least its minimum of examples on both sides; a
    validation set cannot be made smaller than one group. As a warning, it also
    reports a validation set left empty by a small ratio on a small input.

    ## Why is this bad?
    The provider refuses the job (MiniMax requires a validation file), or the
    validation set silently exceeds the documented cap.

    ## Example
    Splitting 12 MiniMax examples: each file needs at least 10. Add examples, or
    pass a smaller target minimum in `[tool.datakit.targets]` if your account allows it.
    Five examples at `--val-ratio 0.1` give an empty validation file: use `--val-count 1`.
    """, source="000, 001, 004")

define("D103", "group-key-missing", "warning", """
    ## What it does
    Warns when `--group-by`/`--stratify-by` names a field that an example lacks; the
    example then falls back to the default group key (or the stratum `<missing>`).

    ## Why is this bad?
    A typo in the field path silently turns a grouped split into the default one.

    ## Example
    `--group-by meta.conversation_id` on a line without `meta`. Check the path: parts
    are separated by dots, list items are numbers (`messages.0.content`).
    """)
