"""Flow YAML with syntax highlighting, rendered on the server with Pygments.

The colours are CSS classes; their style sheet is ui/static/pygments.css
(`python -m ui.highlight > ui/static/pygments.css` regenerates it).
"""
from __future__ import annotations

from markupsafe import Markup
from pygments import highlight
from pygments.formatters import HtmlFormatter
from pygments.lexers import YamlLexer

_FORMATTER = HtmlFormatter(cssclass="yaml", linenos="inline", wrapcode=True)


def highlight_yaml(text: str) -> Markup:
    """HTML of the highlighted text (Pygments escapes every token)."""
    return Markup(highlight(text, YamlLexer(), _FORMATTER))


def stylesheet() -> str:
    return HtmlFormatter(style="friendly").get_style_defs(".yaml")


if __name__ == "__main__":
    print(stylesheet())
