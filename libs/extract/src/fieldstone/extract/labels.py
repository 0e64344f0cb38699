"""Which printed labels stand for a variable, and where those labels occur on the page."""

from __future__ import annotations

import re
from collections import defaultdict
from dataclasses import dataclass, field

from rapidfuzz import fuzz, process

from fieldstone.extract.concepts import CONCEPTS, Concept, ValueKind
from fieldstone.extract.layout import Line
from fieldstone.extract.models import Variable
from fieldstone.extract.normalize import key_words, token_spans, tokens

# Weight of a label by where it came from: exact concept phrases are the most reliable.
W_QUOTED = 1.0
W_CONCEPT_PHRASE = 1.0
W_KEY = 0.95
W_CONCEPT_WORD = 0.85  # one-word concept labels ("date", "total") are generic
W_CONTEXT = 0.8
W_KEY_PART = 0.6  # "date_check_in" -> "check in": the key without its type word
_TYPE_WORDS = frozenset(
    {
        "date",
        "amount",
        "number",
        "num",
        "no",
        "name",
        "id",
        "code",
        "value",
        "text",
        "details",
        "info",
        "total",
        "partner",
        "field",
        "data",
        "is",
        "has",
    }
)
FUZZY_MIN = 88.0  # rapidfuzz ratio for one token (OCR typos, missing accents already folded away)

_TYPE_KINDS: dict[str, set[ValueKind]] = {
    "date": {"date"},
    "number": {"amount", "count", "percent"},
    "string": {"id", "text", "name", "code", "any"},
    "boolean": {"any"},
}
_QUOTED = re.compile("['\"\u2018\u201c\u00ab]([^'\"\u2019\u201d\u00bb]{2,40})['\"\u2019\u201d\u00bb]")
_PAREN = re.compile(r"\(([^()]{2,40})\)")
_EXAMPLE = re.compile(r"^\s*(e\.?\s*g|i\.?\s*e|for example|for instance|z\.?\s*b|ex)\b", re.IGNORECASE)


@dataclass(frozen=True, slots=True)
class Label:
    tokens: tuple[str, ...]
    weight: float


@dataclass(slots=True)
class FieldSpec:
    """A leaf variable prepared for matching."""

    path: str
    var: Variable
    concept: Concept | None
    kind: ValueKind
    labels: list[Label]
    own: set[tuple[str, ...]] = field(default_factory=set)

    @property
    def vtype(self) -> str:
        """The scalar type of the value (the item type for arrays of scalars)."""
        return self.var.item_type if self.var.type == "array" else self.var.type


def _phrase_in(phrase: str, text: str) -> bool:
    return f" {phrase} " in f" {text} "


def concept_scores(key: str, context: str) -> list[tuple[float, Concept]]:
    key_text = key_words(key)
    ctx_text = " ".join(tokens(context))
    scored: list[tuple[float, Concept]] = []
    for concept in CONCEPTS:
        score = 0.0
        for cue, weight in concept.cues.items():
            cue_f = " ".join(tokens(cue)) or cue.strip()
            if _phrase_in(cue_f, key_text):
                score += 2 * weight
            elif _phrase_in(cue_f, ctx_text):
                score += weight
        scored.append((score, concept))
    scored.sort(key=lambda t: -t[0])
    return scored


def resolve_concept(var: Variable, *, in_table: bool = False) -> Concept | None:
    """The concept a variable means, if its key/context say so clearly enough and the type fits."""
    allowed = _TYPE_KINDS.get(var.type if var.type != "array" else var.item_type, set())
    for score, concept in concept_scores(var.key, var.context):
        if score < 3:
            break
        if concept.kind not in allowed and not (var.type == "string" and concept.kind in ("amount", "date")):
            continue
        if concept.table_column and not in_table:
            continue
        return concept
    return None


_ID_WORDS = frozenset(
    {
        "id",
        "no",
        "nr",
        "number",
        "num",
        "code",
        "ref",
        "reference",
        "coc",
        "siren",
        "siret",
        "gstin",
        "cin",
        "tin",
        "ein",
        "ssn",
        "nip",
        "kvk",
        "account",
        "iban",
        "vat",
    }
)
_EXAMPLES = re.compile(
    r"\((?:e\.?\s*g\.?|for example|such as|ex\.?|z\.?\s*b\.?)[\s:,]*([^()]+)\)", re.IGNORECASE
)


def _single_token_examples(context: str) -> bool:
    """Context like "(e.g. CA)" or "(e.g. US, NL)": the value is one short token, a code."""
    m = _EXAMPLES.search(context)
    if not m:
        return False
    examples = [e.strip() for e in re.split(r",|\bor\b|/", m.group(1)) if e.strip()]
    return bool(examples) and all(" " not in e and len(e) <= 12 for e in examples)


def _context_phrases(context: str) -> list[tuple[str, float]]:
    out: list[tuple[str, float]] = [(m.group(1), W_QUOTED) for m in _QUOTED.finditer(context)]
    for m in _PAREN.finditer(context):
        inner = m.group(1)
        if _EXAMPLE.match(inner):
            continue
        for part in re.split(r"[,;/]", inner):
            if 1 <= len(tokens(part)) <= 3:
                out.append((part, W_CONTEXT))
    plain = _PAREN.sub(" ", context)
    if 1 <= len(tokens(plain)) <= 4:
        out.append((plain, W_CONTEXT))
    return out


def build_spec(path: str, var: Variable, *, in_table: bool = False) -> FieldSpec:
    concept = resolve_concept(var, in_table=in_table)
    best: dict[tuple[str, ...], float] = {}

    def add(text: str, weight: float) -> None:
        toks = tuple(tokens(text))
        if toks and len(toks) <= 8 and weight > best.get(toks, 0.0):
            best[toks] = weight

    if concept is not None:
        for label in concept.labels:
            add(label, W_CONCEPT_PHRASE if " " in label else W_CONCEPT_WORD)
    kw = key_words(var.key).split()
    add(" ".join(kw), W_KEY)
    core = [w for w in kw if w not in _TYPE_WORDS]
    if 0 < len(core) < len(kw) and sum(len(w) for w in core) >= 4:
        add(" ".join(core), W_KEY_PART)
    for phrase, weight in _context_phrases(var.context):
        add(phrase, weight)
    labels = [Label(t, w) for t, w in best.items()]
    labels.sort(key=lambda lab: (-len(lab.tokens), -lab.weight))
    vtype = var.item_type if var.type == "array" else var.type
    if concept is not None:
        kind: ValueKind = concept.kind
    elif vtype == "date":
        kind = "date"
    elif vtype == "number":
        kind = "amount"
    elif vtype == "boolean":
        kind = "any"
    elif vtype == "string" and _ID_WORDS & set(kw):
        kind = "id"
    elif vtype == "string" and _single_token_examples(var.context):
        kind = "code"
    else:
        kind = "text"
    return FieldSpec(path, var, concept, kind, labels, set(best))


@dataclass(frozen=True, slots=True)
class LabelHit:
    line: Line
    tokens: tuple[str, ...]
    start_token: int
    end_token: int
    char_start: int  # in line.text
    char_end: int
    match: float  # 1.0 exact, lower for fuzzy token matches


class LineTokens:
    """Folded tokens of a line with character spans in ``line.text``."""

    __slots__ = ("line", "spans", "text", "toks")

    def __init__(self, line: Line) -> None:
        self.line = line
        self.text = line.text
        self.spans = token_spans(self.text)
        self.toks = [t for t, _, _ in self.spans]


class LabelMatcher:
    """Finds every known label in every line of a document, once.

    Known labels are those of all concepts and of the template's variables, so that the longest label
    on a spot wins: "Total HT" is not a hit for 'total' only because it contains "total".
    """

    def __init__(self, lines: list[LineTokens], specs: list[FieldSpec]) -> None:
        self.owners: dict[tuple[str, ...], set[str]] = defaultdict(set)
        for concept in CONCEPTS:
            if concept.table_column:
                continue
            for label in concept.labels:
                toks = tuple(tokens(label))
                if toks:
                    self.owners[toks].add(concept.name)
        for spec in specs:
            for toks in spec.own:
                self.owners[toks].add(owner_of(spec))
        by_first: dict[str, list[tuple[str, ...]]] = defaultdict(list)
        for toks in self.owners:
            by_first[toks[0]].append(toks)
        vocab = {t for lt in lines for t in lt.toks}
        # Fuzzy partners of every label token among the document's tokens, computed in bulk (C speed).
        label_tokens = {t for toks in self.owners for t in toks}
        self.similar: dict[str, dict[str, float]] = {t: {t: 1.0} for t in label_tokens}
        long_vocab = [t for t in vocab if len(t) >= 5]
        if long_vocab:
            for lt_tok in label_tokens:
                if len(lt_tok) < 5:
                    continue
                for cand, score, _ in process.extract(
                    lt_tok, long_vocab, scorer=fuzz.ratio, score_cutoff=FUZZY_MIN, limit=None
                ):
                    if cand != lt_tok:
                        self.similar[lt_tok][cand] = 0.85 + 0.15 * (score - FUZZY_MIN) / (100 - FUZZY_MIN)
        # doc token -> labels whose first token it matches
        self.first: dict[str, list[tuple[tuple[str, ...], float]]] = defaultdict(list)
        for first_tok, labels in by_first.items():
            for doc_tok, q in self.similar.get(first_tok, {first_tok: 1.0}).items():
                for toks in labels:
                    self.first[doc_tok].append((toks, q))
        glued: dict[str, tuple[str, ...]] = {}
        for toks in self.owners:
            if len(toks) > 1:
                glued.setdefault("".join(toks), toks)
        self.hits_by_line: dict[int, list[LabelHit]] = {}
        for lt in lines:
            self.hits_by_line[id(lt.line)] = self._scan(lt, glued)

    def _scan(self, lt: LineTokens, glued: dict[str, tuple[str, ...]]) -> list[LabelHit]:
        hits: list[LabelHit] = []
        n = len(lt.toks)
        # A label never spans a column gap: "Factuur datum || Factuur" holds no "datum factuur".
        seg_ends: list[int] = []
        pos = 0
        for seg in lt.line.segments:
            pos += len(seg.text) + 1
            seg_ends.append(pos)
        tok_seg = [
            next((k for k, end in enumerate(seg_ends) if s < end), len(seg_ends)) for _, s, _ in lt.spans
        ]
        for i, tok in enumerate(lt.toks):
            whole = glued.get(tok)
            if whole is not None:  # "invoiceno", "rechnungsnr"
                hits.append(LabelHit(lt.line, whole, i, i + 1, lt.spans[i][1], lt.spans[i][2], 1.0))
            for toks, q in self.first.get(tok, ()):
                k = len(toks)
                if i + k > n:
                    continue
                if tok_seg[i + k - 1] != tok_seg[i]:
                    continue
                for j in range(1, k):
                    q = min(q, self.similar.get(toks[j], {}).get(lt.toks[i + j], 0.0))
                    if q == 0.0:
                        break
                if q > 0.0:
                    hits.append(LabelHit(lt.line, toks, i, i + k, lt.spans[i][1], lt.spans[i + k - 1][2], q))
        return hits

    def line_hits(self, line: Line) -> list[LabelHit]:
        return self.hits_by_line.get(id(line), [])

    def hits_for(self, spec: FieldSpec, line: Line) -> list[tuple[LabelHit, float]]:
        """Hits of the spec's labels in a line that no longer label of another concept covers."""
        weights = {lab.tokens: lab.weight for lab in spec.labels}
        mine = owner_of(spec)
        all_hits = self.line_hits(line)
        out: list[tuple[LabelHit, float]] = []
        for hit in all_hits:
            weight = weights.get(hit.tokens)
            if weight is None:
                continue
            length = hit.end_token - hit.start_token
            shadowed = any(
                (o.end_token - o.start_token) > length
                and o.start_token <= hit.start_token
                and o.end_token >= hit.end_token
                and o.match >= 0.95
                and o.tokens not in spec.own
                and mine not in self.owners[o.tokens]
                for o in all_hits
            )
            if not shadowed:
                out.append((hit, weight * hit.match))
        return out


def owner_of(spec: FieldSpec) -> str:
    return spec.concept.name if spec.concept is not None else f"var:{spec.path}"
