"""M: images and other attachments.

The rules, plus the checks of one image reference: a DashScope file name (which must
be in the zip) or an OpenAI ``image_url`` (a data URL is checked for type and size
without decoding it).
"""

from __future__ import annotations

import json
import re

from datakit.rules.registry import Finding, define

define("M001", "image-not-in-zip", "error", """
    ## What it does
    Flags a `{"image": "<file name>"}` part whose file is not in the `.zip` being linted.
    Checked only when linting the zip (a bare `.jsonl` has no images beside it).

    ## Why is this bad?
    DashScope's image-understanding SFT takes the `.jsonl` and the images packed together
    in one zip, images in the same directory as the jsonl; a missing file fails the job
    after upload.

    ## Example
    `{"image": "cat_01.jpg"}` while the zip holds `cat_1.jpg`: fix the name or add the file.
    """, formats=("dashscope-sft-image",), source="004_5798d0ceeceffe78.txt")

define("M002", "image-outside-user-message", "error", """
    ## What it does
    Flags an image part in an assistant, system or tool message.

    ## Why is this bad?
    Images are inputs: OpenAI's vision fine-tuning rejects images in assistant messages,
    and DashScope's format gives assistant content as `[{"text": ...}]` only. The model
    cannot be trained to output an image.

    ## Example
    `{"role": "assistant", "content": [{"text": "here"}, {"image": "a.png"}]}`: move the
    image to the user turn that asks about it.
    """, formats=("openai", "dashscope-sft-image"),
    source="004_5798d0ceeceffe78.txt; OpenAI vision fine-tuning guide")

define("M003", "image-path-not-local", "error", """
    ## What it does
    Flags a DashScope image reference that is not a plain relative file name inside the
    zip: an absolute path, a path with `..`, a Windows drive or backslash path, or a URL.

    ## Why is this bad?
    The images must sit in the zip, beside the jsonl. An absolute or `..` path escapes the
    archive (and is a zip-slip risk for the tools that unpack it); a URL is not fetched
    by the fine-tuning job.

    ## Example
    `{"image": "/home/me/data/cat.jpg"}` or `{"image": "../cat.jpg"}`: copy the file into
    the zip and reference it as `cat.jpg`.
    """, formats=("dashscope-sft-image",), source="004_5798d0ceeceffe78.txt")

define("M004", "unsupported-image-type", "error", """
    ## What it does
    Flags an image of a type the provider does not accept: for `dashscope-sft-image` a file
    extension other than jpg, jpeg, png, webp or bmp; for `openai` a data URL whose media
    type is not image/jpeg, image/png or image/webp.

    ## Why is this bad?
    OpenAI's vision fine-tuning accepts JPEG, PNG and WEBP only (GIF is accepted for
    inference, not for fine-tuning). The DashScope seed names no list; datakit uses the
    formats Qwen-VL reads that are common to DashScope's image APIs (jpg/jpeg/png/webp/bmp)
    and flags anything else, such as .gif, .heic or .svg.

    ## Example
    `"url": "data:image/gif;base64,R0lGOD..."`: convert the image to PNG or JPEG.
    """, formats=("openai", "dashscope-sft-image"),
    source="OpenAI vision fine-tuning guide (SPEC.md §3); 004_5798d0ceeceffe78.txt")

define("M005", "too-many-images", "error", """
    ## What it does
    Flags an OpenAI example with more than 10 images.

    ## Why is this bad?
    OpenAI's vision fine-tuning allows at most 10 images per example and rejects the file
    otherwise.

    ## Example
    A conversation with 12 `image_url` parts: split it into two examples.
    """, formats=("openai",), source="OpenAI vision fine-tuning guide (SPEC.md §3)")

define("M006", "image-too-large", "error", """
    ## What it does
    Flags an OpenAI `image_url` data URL whose decoded image exceeds 10 MB (computed from the
    base64 length, without decoding).

    ## Why is this bad?
    OpenAI's vision fine-tuning allows at most 10 MB per image.

    ## Example
    A 14 MB PNG screenshot inlined as base64: downscale it or save it as JPEG.
    """, formats=("openai",), source="OpenAI vision fine-tuning guide (SPEC.md §3)")

define("M007", "malformed-data-url", "error", """
    ## What it does
    Flags an OpenAI `image_url` that starts with `data:` but is not
    `data:image/<type>;base64,<payload>`, or whose base64 payload has a character outside
    the base64 alphabet (URL-safe `-`/`_`, line breaks, `=` before the end) or an
    impossible length.

    ## Why is this bad?
    The image cannot be decoded, so the example is rejected; a truncated payload usually
    means the line was cut by an editor or a CSV export.

    ## Example
    `"url": "data:image/png,iVBORw0KGgo..."` (no `;base64`): write
    `data:image/png;base64,iVBORw0KGgo...`.
    """, formats=("openai",), source="RFC 2397; OpenAI vision guide")


MAX_OPENAI_IMAGES = 10
MAX_OPENAI_IMAGE_BYTES = 10 * 1024 * 1024
OPENAI_IMAGE_TYPES = frozenset({"image/jpeg", "image/jpg", "image/png", "image/webp"})
DASHSCOPE_IMAGE_EXTENSIONS = frozenset({"jpg", "jpeg", "png", "webp", "bmp"})


_BASE64 = re.compile(r"[A-Za-z0-9+/]*={0,2}")
_BASE64_BAD = re.compile(r"[^A-Za-z0-9+/=]|=+[^=]")


def _q(text: str, limit: int = 60) -> str:
    r = json.dumps(text, ensure_ascii=False)
    return r if len(r) <= limit else r[: limit - 2] + "…\""


def check_openai_image_url(url: object, ptr: str, out: list[Finding]) -> None:
    """M004, M006, M007 on one ``image_url.url``; remote URLs cannot be checked offline."""
    if not isinstance(url, str) or not url.startswith("data:"):
        return
    comma = url.find(",", 5, 300)
    header = url[5:comma] if comma >= 0 else ""
    mime, _, encoding = header.partition(";")
    mime = mime.strip().lower()
    if comma < 0 or encoding.strip().lower() != "base64" or not mime.startswith("image/"):
        out.append(Finding("M007", (
            f"image URL {_q(url[:60])} is not a base64 image data URL; write "
            "data:image/<png|jpeg|webp>;base64,<payload>"), ptr))
        return
    if mime not in OPENAI_IMAGE_TYPES:
        out.append(Finding("M004", (
            f"image type {mime} is not accepted by OpenAI fine-tuning (JPEG, PNG or WEBP); "
            "convert the image"), ptr))
    payload = len(url) - comma - 1
    if not _BASE64.fullmatch(url, comma + 1):
        bad = _BASE64_BAD.search(url, comma + 1)
        at = bad.start() - comma - 1 if bad else payload
        what = _q(bad.group()) if bad else "padding"
        out.append(Finding("M007", (
            f"base64 payload has {what} at character {at + 1}, outside the base64 alphabet "
            "(A-Z a-z 0-9 + / and '=' padding at the end only); re-encode the image with "
            "standard base64, without line breaks"), ptr))
        return
    if payload % 4 == 1:
        out.append(Finding("M007", (
            f"base64 payload of {payload} characters cannot be valid base64 (truncated?); "
            "re-encode the image"), ptr))
        return
    size = payload * 3 // 4 - (url.endswith("==") + url.endswith("="))
    if size > MAX_OPENAI_IMAGE_BYTES:
        out.append(Finding("M006", (
            f"image is {size / 1048576:.1f} MB decoded; OpenAI accepts at most 10 MB per image "
            "— downscale or recompress it"), ptr))


def check_dashscope_image(name: object, ptr: str, images: frozenset[str] | None,
                          out: list[Finding]) -> None:
    """M001, M003, M004 on one ``{"image": name}`` reference."""
    if not isinstance(name, str):
        return  # schema
    low = name.lower()
    if "://" in name or low.startswith("data:"):
        out.append(Finding("M003", (
            f"image {_q(name)} is a URL; DashScope reads images from the zip only — download "
            "it into the zip and reference it by file name"), ptr))
        return
    parts = name.replace("\\", "/").split("/")
    if (name.startswith(("/", "\\")) or "\\" in name or ".." in parts
            or (len(name) > 1 and name[1] == ":" and name[0].isalpha())):
        out.append(Finding("M003", (
            f"image path {_q(name)} leaves the zip (absolute, backslash or '..' path); put the "
            "file beside the jsonl and reference it by its name inside the zip"), ptr))
        return
    dot = low.rfind(".")
    ext = low[dot + 1:] if dot > low.rfind("/") else ""
    if ext not in DASHSCOPE_IMAGE_EXTENSIONS:
        out.append(Finding("M004", (
            f"image {_q(name)} has {'extension .' + ext if ext else 'no file extension'}; "
            f"use one of {', '.join(sorted(DASHSCOPE_IMAGE_EXTENSIONS))}"), ptr))
    if images is not None and name not in images:
        alt = name.removeprefix("./")
        if alt not in images:
            out.append(Finding("M001", (
                f"image {_q(name)} is not in the zip; add the file beside the jsonl or fix "
                "the name (names are case-sensitive)"), ptr))
