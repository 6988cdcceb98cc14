"""Every output format of an explanation, by the name ``--format`` takes."""

from .render import render_json, render_text
from .render_html import render_html
from .render_tex import render_latex, render_markdown

RENDERERS = {"text": render_text, "json": render_json, "markdown": render_markdown, "latex": render_latex,
             "html": render_html}
