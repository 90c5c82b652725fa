"""A block of content is a list of parts, rendered three ways from one structure:

- `chat_text`: how an assistant writes it (seed and eval outputs): paragraphs apart by a blank
  line, "- " bullets, "1. " steps;
- `web_text`: exactly what the project's HTML segmenter extracts from `html` (one line per
  paragraph or list item, no bullet markers; step numbers are part of the item text);
- `html`: <p>, <ul>, <ol> elements.

Parts: ("p", sentence text) | ("ul", [items]) | ("ol", [items], first number) | ("links", [link texts]),
the last a <ul> of <a> links (navigation), rendered as text like "ul".
"""

from __future__ import annotations

from html import escape

from .kb import capitalize

Part = tuple


def _ol_lines(items: list[str], start: int) -> list[str]:
    return [f"{start + i}. {capitalize(item)}" for i, item in enumerate(items)]


def slug(text: str) -> str:
    return "-".join("".join(c if c.isalnum() else " " for c in text.lower()).split()) or "home"


def chat_text(parts: list[Part]) -> str:
    chunks = []
    for part in parts:
        if part[0] == "p":
            chunks.append(part[1])
        elif part[0] in ("ul", "links"):
            chunks.append("\n".join(f"- {capitalize(i)}" for i in part[1]))
        else:
            chunks.append("\n".join(_ol_lines(part[1], part[2])))
    return "\n\n".join(chunks)


def web_text(parts: list[Part]) -> str:
    lines: list[str] = []
    for part in parts:
        if part[0] == "p":
            lines.append(part[1])
        elif part[0] in ("ul", "links"):
            lines.extend(capitalize(i) for i in part[1])
        else:
            lines.extend(_ol_lines(part[1], part[2]))
    return "\n".join(lines)


def html(parts: list[Part]) -> str:
    out = []
    for part in parts:
        if part[0] == "p":
            out.append(f"<p>{escape(part[1], quote=False)}</p>")
        elif part[0] == "links":
            out.append("<ul>" + "".join(f'<li><a href="/{slug(i)}">{escape(capitalize(i), quote=False)}</a></li>'
                                        for i in part[1]) + "</ul>")
        elif part[0] == "ul":
            out.append("<ul>" + "".join(f"<li>{escape(capitalize(i), quote=False)}</li>" for i in part[1]) + "</ul>")
        else:
            # Numbers are written into the items (as many sites do) so text extraction keeps them,
            # including a list that starts mid-way.
            lis = "".join(f"<li>{escape(line, quote=False)}</li>" for line in _ol_lines(part[1], part[2]))
            out.append(f'<ol class="steps" style="list-style:none">{lis}</ol>')
    return "\n".join(out)
