"""User strings made safe for each output format, one function per format.

Titles, notes and names come from files users write. They are escaped for the format they land in and never used
as a template: a title holding ``\\input{/etc/hostname}`` must print as those characters, not make pdflatex read the
file; ``<script>`` must not run; ``[link](x)`` must not become a link.
"""

import re
import unicodedata
from html import escape as _html_escape

_LATEX = {"\\": r"\textbackslash{}", "&": r"\&", "%": r"\%", "$": r"\$", "#": r"\#", "_": r"\_",
          "{": r"\{", "}": r"\}", "~": r"\textasciitilde{}", "^": r"\textasciicircum{}", "<": r"\textless{}",
          ">": r"\textgreater{}", "|": r"\textbar{}", "–": "--", "—": "---", "’": "'", "‘": "`", "“": "``",
          "”": "''", "→": r"$\to$", "−": "-", "·": r"$\cdot$", "η": r"$\eta$", "∂": r"$\partial$", "′": "'",
          "²": r"$^2$", "½": r"$\frac12$", "σ": r"$\sigma$", "ŷ": r"$\hat{y}$", "✓": "", "✗": "",
          "…": r"\dots{}", "×": r"$\times$", "≈": r"$\approx$", "⊙": r"$\odot$", "ᵀ": r"$^T$", "δ": r"$\delta$",
          "Σ": r"$\Sigma$", "⁽": "$^($", "⁾": "$^)$", "μ": r"$\mu$", "β": r"$\beta$", "ε": r"$\varepsilon$",
          "ρ": r"$\rho$", "ᵗ": "$^t$", "⁼": "$^=$", "√": r"$\surd$"}
_LATEX |= {d: f"$_{i}$" for i, d in enumerate("₀₁₂₃₄₅₆₇₈₉")}
_LATEX |= {d: f"$^{i}$" for i, d in enumerate("⁰¹²³⁴⁵⁶⁷⁸⁹")}

_HATTED = re.compile("([A-Za-z])\u0302")     # a letter and a combining circumflex: m̂

_MARKDOWN_SPECIAL = set("\\`*_{}[]#|$~")          # anywhere
_MARKDOWN_LEADING = set("-+.!()=")     # only where a line starts (lists, headings underlined)


def latex_text(text: str) -> str:
    """Plain text for pdflatex: every special character escaped, the Greek letters and sub- and superscripts
    chainrule writes turned into mathematics (a letter with a combining hat, the m̂ of Adam's moments, as \\hat),
    anything else outside Latin-1 replaced by '?'."""
    parts = _HATTED.split(text)       # text, a hatted letter, text, ...
    return "".join(rf"$\hat{{{part}}}$" if k % 2 else
                   "".join(_LATEX.get(ch, ch if 32 <= ord(ch) < 256 or ch in "\n\t" else "?") for ch in part)
                   for k, part in enumerate(parts))


def markdown_text(text: str) -> str:
    """Plain text for Markdown: punctuation that could start emphasis, a link, code, maths or HTML is
    backslash-escaped (``&``, ``<`` and ``>`` become entities, which every Markdown renderer shows as written)."""
    out = []
    text = text.strip()
    if text[:1] in _MARKDOWN_LEADING and not text[0].isdigit():
        out.append("\\")
    for ch in text:
        if ch == "&":
            out.append("&amp;")
        elif ch == "<":
            out.append("&lt;")
        elif ch == ">":
            out.append("&gt;")
        elif ch in _MARKDOWN_SPECIAL:
            out.append("\\" + ch)
        elif ch == "\n":
            out.append(" ")
        else:
            out.append(ch)
    escaped = "".join(out)
    number = re.match(r"\d+(?=[.)])", escaped)      # "1. " would start a numbered list
    return escaped if not number else escaped[:number.end()] + "\\" + escaped[number.end():]


def html_text(text: str) -> str:
    """Text for HTML content and attribute values (quotes included)."""
    return _html_escape(text, quote=True)


FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")    # what a spreadsheet reads as the start of a formula


def spreadsheet_cell(text: str) -> str:
    """``text`` as a cell no spreadsheet will run as a formula, and with no control character a terminal would act
    on (an escape sequence in a file's name is written as ``\\x1b``; tabs and line breaks are kept, quoted)."""
    text = "".join(ascii(c)[1:-1] if unicodedata.category(c) == "Cc" and c not in "\t\n\r" else c for c in text)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


__all__ = ["html_text", "latex_text", "markdown_text", "spreadsheet_cell"]
