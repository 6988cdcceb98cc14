"""A PrairieLearn question for an exercise: each student gets a variant drawn by chainrule with the teacher's
options, and the question is marked with error carried forward, as ``chainrule grade`` marks it.

PrairieLearn's question is a folder of ``info.json``, ``question.html`` and ``server.py`` (its "Questions" and
"server.py" guides, docs/question/server.md in PrairieLearn/PrairieLearn). Its ``server.py`` functions take one
``data`` dictionary and change it in place; this module keeps to the keys that guide documents:

- ``generate(data)``: reads ``data["variant_seed"]``, sets ``data["params"]`` (shown in ``question.html`` as
  ``{{params.NAME}}``) and ``data["correct_answers"]``;
- ``parse(data)``: runs after the elements have parsed; may change ``data["submitted_answers"]`` and
  ``data["format_errors"]`` (a format error makes the submission invalid: it is not graded and costs no attempt);
- ``grade(data)``: runs after the elements have graded; sets ``data["partial_scores"][NAME]`` (``score`` from 0 to 1,
  ``weight``, ``feedback``), ``data["score"]`` (0 to 1) and ``data["feedback"]``. ``data["raw_submitted_answers"]``
  holds each answer exactly as typed.

Here ``generate`` draws the variant with ``make_exercise`` from a seed derived from ``variant_seed`` and keeps the
variant's spec in ``params``; ``parse`` reads every answer as ``chainrule grade`` reads a number (a decimal comma,
``×10^-3``), so ``0,4312`` is a number and a blank part is left unanswered, not 0; ``grade`` reads the answers as
typed (their digits decide the precision check), marks them with ``grade_values`` and replaces every part's score
with chainrule's: a later part worked correctly from the student's own earlier slip keeps its marks, where
``pl-number-input``'s own comparison with the key would give it none. Nothing shown to a student quotes the key:
every input has ``show-correct-answer="false"`` and ``info.json`` hides the answer panel.

The generated ``server.py`` is a few lines that call this module: PrairieLearn must be able to import chainrule (its
"Question runtime environment" guide: install it into the course's ``serverFilesCourse``; see ``SERVER``).
"""

import hashlib
import json
import pprint
import re
import unicodedata
import uuid

from .. import __version__
from ..errors import ChainruleError
from ..escape import html_text
from ..explainer import parse_spec
from ..explainer.audit import carried_into, updated_name
from ..explainer.latex import latex_name, symbolic_atom, to_latex
from ..explainer.notation import format_number, unicode_name
from ..explainer.render import symbolic
from .exercise import Exercise, exercise_document, make_exercise, parse_shape
from .feedback import WORDS
from .grade import grade_values
from .precision import Precision
from .sheets import asking_text, convention_lines, definition_rows, given_quantities, update_formulas
from .submission import read_number

FORMAT = "chainrule-prairielearn"
VERSION = 1
FOLDER = "prairielearn"
TOPIC = "Backpropagation"
SPEC_PARAM = "chainrule"         # data["params"][SPEC_PARAM]: the variant's spec (graded against), its conventions
SUMMARY = "chainrule"            # data["feedback"][SUMMARY]: the mark and the first slip, under the inputs
NAMESPACE = uuid.uuid5(uuid.NAMESPACE_URL, "chainrule:prairielearn")
COMPARISON = {"significant": "sigfig", "decimals": "decdig"}    # pl-number-input's name for each precision

SERVER = '''"""PrairieLearn question written by chainrule {version} (``chainrule exercise ... --prairielearn``).

generate() draws each student's variant with chainrule from data["variant_seed"], with the options of the teacher's
exercise below; grade() marks the answers with error carried forward (chainrule.teach.grade.grade_values), so a
part worked correctly from the student's own earlier slip keeps its marks.

PrairieLearn must be able to import chainrule. As its "Question runtime environment" guide says for any library,
install it into the course's serverFilesCourse and commit that folder (numpy, chainrule's one dependency, is in
PrairieLearn's image already, hence --no-deps):

    docker run -it --rm -v <path-to-course>:/course prairielearn/prairielearn \\
        pip3 install --no-deps --target /course/serverFilesCourse chainrule=={version}

(or, for a wheel built with ``pip wheel --no-deps <chainrule source>`` and copied into the course, give its path under
/course instead of ``chainrule=={version}``). chainrule needs Python 3.11 or newer.
"""

from chainrule.teach import prairielearn as chainrule_question

QUESTION = {question}


def generate(data):
    chainrule_question.generate(data, QUESTION)


def parse(data):
    chainrule_question.parse(data, QUESTION)


def grade(data):
    chainrule_question.grade(data, QUESTION)
'''


# ---- the question folder ----

def files(ex: Exercise) -> dict[str, str]:
    """``prairielearn/<QID>/info.json``, ``question.html`` and ``server.py``: the folder to copy into a course's
    ``questions/``. The same exercise gives the same bytes."""
    folder = f"{FOLDER}/{question_id(ex)}"
    return {f"{folder}/info.json": info_json(ex), f"{folder}/question.html": question_html(ex),
            f"{folder}/server.py": server_py(ex)}


def question_uuid(ex: Exercise) -> str:
    """A UUID that is the exercise's own: version 5, from the teacher's exercise file (every option, the seed)."""
    document = json.dumps(exercise_document(ex), sort_keys=True, ensure_ascii=True)
    return str(uuid.uuid5(NAMESPACE, document))


def question_id(ex: Exercise) -> str:
    """The question's folder name (PrairieLearn's QID): the title's letters and digits, or the network's shape and
    activations, and the start of the UUID (two exercises of one network differ by their seed or what they ask)."""
    stem = _slug(ex.options.get("title", ""), "-").lower()[:40].strip("-")
    stem = stem or f"chainrule-{ex.options['shape']}-{ex.options['hidden']}-{ex.options['output']}"
    return f"{stem}-{question_uuid(ex)[:8]}"


def info_json(ex: Exercise) -> str:
    """``info.json`` with the fields of PrairieLearn's infoQuestion schema: ``uuid``, ``type`` ("v3"), ``title``,
    ``topic`` (the four it requires) and ``tags``; the answer panel hidden (``showCorrectAnswer``: it shows the
    key), the grading internal (``server.py``), partial credit on."""
    o = ex.options
    info = {"uuid": question_uuid(ex), "type": "v3", "title": ex.spec.title, "topic": TOPIC,
            "tags": ["chainrule", "backpropagation", "error carried forward", o["shape"], o["hidden"], o["output"],
                     o["loss"]],
            "gradingMethod": "Internal", "singleVariant": False, "partialCredit": True, "showCorrectAnswer": False,
            "comment": f"Written by chainrule {__version__}. server.py imports chainrule: install it into "
                       "serverFilesCourse (see server.py)."}
    return json.dumps(info, indent=2, ensure_ascii=False) + "\n"


def question_html(ex: Exercise) -> str:
    """The question: the network's formulas (from the derivation's own templates), the given numbers as
    ``{{params.NAME}}``, and one ``pl-number-input`` per asked quantity labelled with the sheet's name."""
    sup = ex.spec.superscript
    formulas = " \\\\\n".join(f"{latex_name(n, sup)} &= {to_latex(t, symbolic_atom(sup))}"
                            for n, t in definition_rows(ex) + update_formulas(ex))
    conventions = f"params.{SPEC_PARAM}.conventions"
    given = "".join(f"<li>{_text(unicode_name(name, sup))} = {{{{params.{key}}}}}</li>"
                    for key, name in param_names(given_quantities(ex)).items())
    lines = ["{{! Written by chainrule from an exercise: server.py draws each student's numbers and marks the "
             "answers with error carried forward. }}",
             "<pl-question-panel>",
             '<div class="mathjax_ignore">',
             f"<p><strong>{_text(ex.spec.title)}</strong></p>",
             # the conventions name the variant's learning rate: drawn by generate(), like the given numbers
             f"<ul>{{{{#{conventions}}}}}<li>{{{{.}}}}</li>{{{{/{conventions}}}}}</ul>",
             "</div>",
             "<p>The network:</p>",
             "$$\\begin{aligned}\n" + _math(formulas) + "\n\\end{aligned}$$",
             f'<p>Given:</p>\n<ul class="mathjax_ignore">{given}</ul>',
             f'<p class="mathjax_ignore">{_text(asking_text(ex))} A decimal point or a decimal comma; a part left blank '
             "earns nothing. A later answer worked correctly from your own earlier answer keeps its marks, even "
             "where the earlier one was wrong.</p>",
             "</pl-question-panel>"]
    kind, digits = COMPARISON[ex.precision.kind], ex.precision.digits
    for key, name in answer_names(ex.asked).items():
        lines.append(f'<pl-number-input answers-name="{key}" label="{_text(unicode_name(name, sup) + " =")}" '
                     f'comparison="{kind}" digits="{digits}" display="block" allow-blank="true" '
                     'allow-fractions="false" show-correct-answer="false"></pl-number-input>')
    lines += ["<pl-submission-panel>", f"<p>{{{{feedback.{SUMMARY}}}}}</p>", "</pl-submission-panel>"]
    return "\n".join(lines) + "\n"


def server_py(ex: Exercise) -> str:
    """``server.py``: the exercise's options and names, and ``generate``/``parse``/``grade`` calling this module."""
    return SERVER.format(version=__version__, question=pprint.pformat(question_of(ex), width=110, sort_dicts=False))


def question_of(ex: Exercise) -> dict:
    """What ``server.py`` holds: the teacher's options (every variant is drawn with them), the precision and policy,
    the UUID (it salts the variants' seeds) and the names of the answers and given numbers in ``data``."""
    return {"format": FORMAT, "version": VERSION, "chainrule": __version__, "uuid": question_uuid(ex),
            "options": ex.options, "precision": ex.precision.to_document(), "precision_policy": ex.policy,
            "answers": answer_names(ex.asked), "given": param_names(given_quantities(ex))}


def answer_names(names: list[str]) -> dict[str, str]:
    """``answers-name`` -> chainrule's name, in order: ``dL/dw5`` -> ``dL_dw5``, ``w5'`` -> ``w5_new``, ``z1[2]`` ->
    ``z1_2``, ``w5'@2`` -> ``w5_new_step2`` (a name in ``data`` and a Mustache key: letters, digits and ``_``
    only)."""
    return _keys(names)


def param_names(names: list[str]) -> dict[str, str]:
    """``data["params"]`` key -> the given number's name (``x1[2]`` -> ``x1_2``, ``eta``)."""
    return _keys(names)


def _keys(names: list[str]) -> dict[str, str]:
    keys: dict[str, str] = {}
    for name in names:
        key = re.sub(r"@(\d+)$", r"_step\1", re.sub(r"\[(\d+)\]", r"_\1", name.replace("'", "_new").replace("/", "_")))
        key = _slug(key, "_")
        while key in keys or key == SPEC_PARAM:        # distinct names never share a key
            key += "_"
        keys[key] = name
    return keys


def _slug(text: str, joiner: str) -> str:
    """ASCII letters and digits of ``text``, every other run of characters one ``joiner``."""
    ascii_text = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode()
    return re.sub(r"[^A-Za-z0-9]+" if joiner == "-" else r"[^A-Za-z0-9_]+", joiner, ascii_text)


def _text(text: str) -> str:
    """User text for ``question.html``: HTML-escaped, and its braces as entities, so that Mustache (which renders the
    file first) never reads a ``{{`` in a title as a tag."""
    return html_text(text).replace("{", "&#123;").replace("}", "&#125;")


def _math(latex: str) -> str:
    """LaTeX for ``question.html``: HTML-escaped (MathJax reads the decoded text), ``{{`` and ``}}`` split by a space
    (the same in TeX) so that Mustache leaves them alone."""
    text = html_text(latex)
    while "{{" in text or "}}" in text:
        text = text.replace("{{", "{ {").replace("}}", "} }")
    return text


# ---- what server.py runs, in PrairieLearn ----

def variant(question: dict, variant_seed) -> Exercise:
    """The exercise a variant shows: ``make_exercise`` with the teacher's options and a seed derived from
    PrairieLearn's ``variant_seed`` (the question's UUID salts it: two questions' variants differ)."""
    o = question["options"]
    digest = hashlib.sha256(f"{question['uuid']}:{variant_seed}".encode()).digest()
    return make_exercise(parse_shape(o["shape"]), o["hidden"], o["output"], o["loss"],
                         int.from_bytes(digest, "big"), tuple(o["ask"]), o["batch"], o["reduction"],
                         o["update_order"], o["update_biases"], o["weight_layout"],
                         Precision.from_document(question["precision"], "server.py: QUESTION"),
                         question["precision_policy"], o["title"], optimizer=o.get("optimizer"),
                         steps=o.get("steps"))


def generate(data: dict, question: dict) -> None:
    """The variant's given numbers (as the sheet prints them) in ``data["params"]``, its spec and the sheet's
    conventions (they name its learning rate) in ``data["params"]["chainrule"]``, and the key's rounded answers in
    ``data["correct_answers"]``."""
    ex = variant(question, data["variant_seed"])
    if list(question["answers"].values()) != ex.asked:
        raise ChainruleError(f"server.py: chainrule {__version__} asks for other quantities than this question was "
                             f"written with (by chainrule {question.get('chainrule')}); write the question again "
                             "with chainrule exercise ... --prairielearn")
    values = ex.derivation.values
    for key, name in question["given"].items():
        data["params"][key] = format_number(values[name])
    data["params"][SPEC_PARAM] = {"spec": ex.document, "conventions": convention_lines(ex)}
    for key, name in question["answers"].items():
        data["correct_answers"][key] = float(ex.answer_text(name))


def parse(data: dict, question: dict) -> None:
    """Each answer read as ``chainrule grade`` reads a number: a decimal comma or ``×10^-3`` is a number (the
    element's format error is lifted), a blank part is unanswered (not the element's blank value 0), and anything
    else is a format error saying why."""
    for key in question["answers"]:
        number, why = _read(data["raw_submitted_answers"].get(key))
        if number is not None:
            data["format_errors"].pop(key, None)
            data["submitted_answers"][key] = float(number)
        elif why == "blank":
            data["format_errors"].pop(key, None)
            data["submitted_answers"].pop(key, None)
        else:
            data["format_errors"][key] = f"Expected a number, such as 0.4312 or 0,4312: {why}."


def grade(data: dict, question: dict) -> None:
    """Every part's score and feedback from ``grade_values`` on the answers as typed, in place of the elements'
    own; ``data["score"]``: the points earned over the points possible."""
    spec = parse_spec(data["params"][SPEC_PARAM]["spec"], "PrairieLearn variant")
    precision = Precision.from_document(question["precision"], "server.py: QUESTION")
    values, missing = {}, {}
    for key, name in question["answers"].items():
        number, why = _read(data["raw_submitted_answers"].get(key))
        if number is None:
            missing[name] = "no answer given" if why == "blank" else why
        else:
            values[name] = number
    points = {name: 1.0 for name in question["answers"].values()}
    result = grade_values(spec, points, "PrairieLearn", values, "PrairieLearn submission", precision=precision,
                          policy=question["precision_policy"], missing=missing)
    keys = {name: key for key, name in question["answers"].items()}
    steps = {step.name: step for section in result.derivation.sections for step in section.steps}
    for mark in result.marks:
        data["partial_scores"][keys[mark.name]] = {"score": mark.earned / mark.points if mark.points else 0.0,
                                                   "weight": 1, "feedback": _part_feedback(mark, steps, spec)}
    data["score"] = result.total / result.possible if result.possible else 0.0
    data["feedback"][SUMMARY] = _summary(result)


def _read(raw) -> tuple:
    if raw is None:
        return None, "blank"
    if not isinstance(raw, str):
        return None, f"a {type(raw).__name__} is not a number"
    return read_number(raw)


def _part_feedback(mark, steps: dict, spec) -> str:
    """The verdict in words; for a slip, the step's formula to work again (never the right number)."""
    text = WORDS[mark.verdict] + (f": {mark.reason}" if mark.reason and mark.verdict in ("missing", "imprecise")
                                  else "")
    step = steps.get(mark.name)
    if mark.verdict == "slip" and step is not None:
        name = unicode_name(step.name, spec.superscript)
        text += (f": work {name} = {symbolic(step.template, spec.superscript)} again from the given numbers and your "
                 "earlier answers")
    return text[:1].upper() + text[1:] + "."


def _summary(result) -> str:
    """The mark, the first slip and the parts it carried into."""
    d, sup = result.derivation, result.derivation.spec.superscript
    text = f"Mark: {result.total:g} / {result.possible:g} ({result.slips} slip{'s' if result.slips != 1 else ''})."
    slip = d.first_slip()
    if slip is not None:
        text += f" First slip: {unicode_name(updated_name(slip.name), sup)}."
        carried = carried_into(d.claims, slip)
        if carried:
            text += " It carried into: " + ", ".join(unicode_name(updated_name(c.name), sup) for c in carried) + "."
    return text
