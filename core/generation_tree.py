"""The generation tree: continuations of a prompt as a tree of tokens, expanded by hand or by a small beam search.

Each node's probability is the model's full-vocabulary softmax at its parent (never renormalised over the children
shown); a path's log-probability is the sum of its steps' log-probabilities, so its probability is their product.
Greedy and sampled paths come from the app's own decode loop (``core.generation.Stepper``), scored by one forward pass.
"""

from __future__ import annotations

import copy
import math
import threading
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

import torch
from transformers import DynamicCache

from core.forward import Need, forward_record
from core.generation import Runner, Stepper, eos_token_ids
from core.kv_cache import measured_cache_bytes
from core.models import LoadedModel, accepts_argument
from core.prompt import encode_prompt
from core.text import token_label

MAX_CHILDREN = 6  # children shown per expanded node
MAX_BEAM_WIDTH = 5
MAX_DEPTH = 8  # tokens after the prompt: a beam step feeds at most width x depth = 40 tokens
MAX_TREE_PROMPT_TOKENS = 256  # the prompt's cache is copied once per beam: 5 x 12 MB for the default model
MAX_OPEN = 40  # nodes a person (or a link) may expand besides the beam's
# The beam's cache rows live in the session as long as the beam grows: width x (prompt + depth) tokens, 46 KB a token
# for the default model. Over this budget (width 3 past ~170 prompt tokens) a step feeds the whole paths instead.
MAX_BEAM_CACHE_BYTES = 24 * 2**20
PATH_SEP, ID_SEP = "_", "."  # "9338.28_9338.30": two paths, each the token ids after the prompt

Path = tuple[int, ...]


@dataclass(frozen=True)
class TreeNode:
    """One token in the tree (the root, path ``()``, is the prompt itself).

    Attributes:
        path: the generated token ids from the root to this node.
        token / text: the node's token label (whitespace visible) and its raw decoded text.
        logprob: ln p(token | prompt + parent's tokens), from the full-vocabulary softmax (0 for the root).
        cum_logprob: the sum of the logprobs along the path: ln of the path's probability.
        rank: the token's rank in its parent's distribution (1 = most likely; 0 for the root).
        eos: the token ends the sequence (never expanded).
    """

    path: Path
    token: str
    text: str
    logprob: float
    cum_logprob: float
    rank: int
    eos: bool = False

    @property
    def depth(self) -> int:
        return len(self.path)

    @property
    def parent(self) -> Path | None:
        return self.path[:-1] if self.path else None

    @property
    def probability(self) -> float:
        return math.exp(self.logprob)

    @property
    def cum_probability(self) -> float:
        """The path's probability: the product of its step probabilities."""
        return math.exp(self.cum_logprob)


@dataclass(frozen=True)
class ScoredPath:
    """A continuation and the model's log-probability of each of its tokens (full vocabulary, natural log)."""

    method: str
    token_ids: tuple[int, ...]
    tokens: tuple[str, ...]
    logprobs: tuple[float, ...]

    @property
    def text(self) -> str:
        return "".join(self.tokens)

    @property
    def total_logprob(self) -> float:
        return float(sum(self.logprobs))

    @property
    def probability(self) -> float:
        return math.exp(self.total_logprob)

    def first(self, n: int) -> ScoredPath:
        """The path's first ``n`` tokens (to compare paths of one length)."""
        return ScoredPath(self.method, self.token_ids[:n], self.tokens[:n], self.logprobs[:n])


def format_paths(paths: Iterable[Path]) -> str:
    """Paths as link text: ids joined by ".", paths by "_" (the root, ``()``, is never listed)."""
    return PATH_SEP.join(ID_SEP.join(str(i) for i in p) for p in paths if p)


def parse_paths(text: str | None, vocab_size: int) -> tuple[list[Path], list[str]]:
    """Read ``format_paths`` text; returns (paths, notes on the parts that were ignored). Never raises."""
    paths: list[Path] = []
    bad = 0
    for part in (text or "").split(PATH_SEP):
        if not part:
            continue
        try:
            path = tuple(int(i) for i in part.split(ID_SEP))
        except ValueError:
            bad += 1
            continue
        if not 0 < len(path) <= MAX_DEPTH or not all(0 <= i < vocab_size for i in path):
            bad += 1
        elif path not in paths:
            paths.append(path)
    notes = [f"Ignored {bad} unreadable node(s) in the link's list of expanded nodes."] if bad else []
    if len(paths) > MAX_OPEN:
        notes.append(f"Only the first {MAX_OPEN} expanded nodes are used.")
        paths = paths[:MAX_OPEN]
    return paths, notes


class GenerationTree:
    """A prompt's continuations as a tree: ``expand`` shows a node's top children, ``beam_step`` grows a beam.

    The prompt runs once into a ``DynamicCache``; each expansion by hand copies that cache, repeats it once per node
    being expanded and feeds all their tokens in one batched forward pass (nodes of one depth have equal lengths, so
    there is no padding). The beam keeps one cache row per beam path (as ``generate``'s beam search does): a beam
    step picks each new path's parent row (``reorder_cache``) and feeds only its last token, so a step costs the
    same at depth 8 as at depth 2.

    Attributes:
        prompt_ids: the token ids the model reads (the end of a long prompt, see ``dropped_tokens``).
        children_per_node: how many children an expansion adds (most likely first).
        nodes: every node by path; ``expanded``: the paths whose children are in ``nodes``, with the probability
            of every other token (the mass not shown).
        beam / beam_steps / beam_width: the current beam (most likely first) after ``beam_steps`` steps.
        open_paths: nodes expanded with ``expand`` (by hand or from a link), in order.
    """

    def __init__(
        self,
        lm: LoadedModel,
        prompt: str,
        *,
        children: int = 4,
        beam_width: int = 3,
        runner: Runner | None = None,
    ) -> None:
        if not 1 <= int(children) <= MAX_CHILDREN:
            raise ValueError(f"children must be between 1 and {MAX_CHILDREN}, got {children!r}")
        if not 1 <= int(beam_width) <= MAX_BEAM_WIDTH:
            raise ValueError(f"beam_width must be between 1 and {MAX_BEAM_WIDTH}, got {beam_width!r}")
        self.lm = lm
        self.model_name = lm.name
        self.prompt = prompt
        self.runner = runner
        self.children_per_node = int(children)
        self.beam_width = int(beam_width)
        self.max_prompt_tokens = tree_prompt_tokens(lm)
        self.prompt_ids, self.dropped_tokens = encode_prompt(lm, prompt, self.max_prompt_tokens)
        self.eos_ids = eos_token_ids(lm)
        self.nodes: dict[Path, TreeNode] = {(): TreeNode((), "", "", 0.0, 0.0, 0)}
        self.expanded: dict[Path, float] = {}
        self.beam: tuple[Path, ...] = ((),)
        self.beam_steps = 0
        self.open_paths: list[Path] = []
        self._lock = threading.RLock()
        self._keep_last = accepts_argument(lm.model, "logits_to_keep")
        self._cache = DynamicCache(config=lm.model.config)
        # The beam's cache: (paths, cache) where row i holds the prompt and paths[i]'s tokens; None: only the
        # prompt's. Replaced in one assignment inside the model call, so the two always agree.
        self._beam_cache: tuple[tuple[Path, ...], DynamicCache] | None = None
        self.beam_cache_enabled = True  # False: every beam step recomputes its paths from the prompt's cache
        self.max_beam_cache_bytes = MAX_BEAM_CACHE_BYTES
        self._root_logits = self._run(self._prefill)  # (V,)
        self.expand([()])

    # ----- reading ------------------------------------------------------------------------------
    def children(self, path: Path) -> list[TreeNode]:
        """The node's children in the tree, most likely first."""
        kids = [n for p, n in self.nodes.items() if p and p[:-1] == path]
        return sorted(kids, key=lambda n: -n.logprob)

    def path_nodes(self, path: Path) -> list[TreeNode]:
        """The nodes from the first generated token to ``path`` (the root excluded)."""
        return [self.nodes[path[:i]] for i in range(1, len(path) + 1)]

    def frontier(self, n: int) -> list[TreeNode]:
        """The ``n`` likeliest unexplored branches: nodes not expanded yet (nor ended), by path probability."""
        leaves = [
            node
            for p, node in self.nodes.items()
            if p and p not in self.expanded and not node.eos and len(p) < MAX_DEPTH
        ]
        return sorted(leaves, key=lambda node: (-node.cum_logprob, node.path))[: max(0, int(n))]

    def best_beam_path(self) -> ScoredPath:
        """The likeliest path of the current beam, scored by the tree's own numbers."""
        best = max(self.beam, key=lambda p: (self.nodes[p].cum_logprob, tuple(-i for i in p)))
        nodes = self.path_nodes(best)
        return ScoredPath("beam", best, tuple(n.text for n in nodes), tuple(n.logprob for n in nodes))

    # ----- growing ------------------------------------------------------------------------------
    def expand(self, paths: Sequence[Path], n: int | None = None) -> list[Path]:
        """Add the top ``n`` children (default ``children_per_node``) of each node in ``paths``.

        Nodes already expanded, ended (EOS) or at MAX_DEPTH are skipped; so are paths not in the tree. All nodes
        of one depth run in one batched forward pass.

        Returns:
            The paths that were expanded now.
        """
        n = self.children_per_node if n is None else max(1, int(n))
        with self._lock:
            todo = self._to_expand(paths, n)
            for depth in sorted({len(p) for p in todo}):
                group = [p for p in todo if len(p) == depth]
                self._add_children(group, self._log_probs(group), n)  # (B, V)
            return todo

    def _to_expand(self, paths: Sequence[Path], n: int) -> list[Path]:
        """The paths among ``paths`` that are in the tree, can grow, and show fewer than ``n`` children yet."""
        todo = []
        for p in dict.fromkeys(tuple(int(i) for i in p) for p in paths):
            node = self.nodes.get(p)
            if node is None or node.eos or len(p) >= MAX_DEPTH:
                continue
            if self.expanded.get(p) is not None and len(self.children(p)) >= n:
                continue
            todo.append(p)
        return todo

    def _add_children(self, group: Sequence[Path], log_probs: torch.Tensor, n: int) -> None:
        """Add each path's top ``n`` children from its row of ``log_probs`` (B, V), and the mass not shown."""
        top = torch.topk(log_probs, min(n, log_probs.shape[-1]), dim=-1)  # (B, n)
        for row, parent in enumerate(group):
            parent_node = self.nodes[parent]
            values, ids = top.values[row].tolist(), top.indices[row].tolist()
            for rank, (lp, token_id) in enumerate(zip(values, ids), start=1):
                child = parent + (int(token_id),)
                self.nodes.setdefault(
                    child,
                    TreeNode(
                        child,
                        token_label(self.lm.tokenizer, token_id),
                        self.lm.tokenizer.decode([token_id]),
                        float(lp),
                        parent_node.cum_logprob + float(lp),
                        rank,
                        int(token_id) in self.eos_ids,
                    ),
                )
            shown = torch.logsumexp(top.values[row].double(), dim=0)  # ln of the shown children's mass
            self.expanded[parent] = max(0.0, 1.0 - math.exp(float(shown)))

    def open(self, path: Path) -> bool:
        """Expand one node by hand (remembered in ``open_paths`` for the link); False when it cannot be."""
        path = tuple(int(i) for i in path)
        if path in self.open_paths:
            return True
        if len(self.open_paths) >= MAX_OPEN or path not in self.nodes or self.nodes[path].eos:
            return False
        if len(path) >= MAX_DEPTH:
            return False
        self.expand([path])
        self.open_paths.append(path)
        return True

    def beam_step(self) -> tuple[Path, ...]:
        """One step of beam search: expand every beam node and keep the ``beam_width`` likeliest paths.

        A path that ended (EOS) stays in the beam with its score and is not expanded, as in ``generate``'s beam
        search without a length penalty. Each node shows at least ``beam_width`` children, so the new beam is the
        exact top ``beam_width`` of all continuations of the old one.

        Returns:
            The new beam, most likely first.
        """
        with self._lock:
            if self.beam_steps >= MAX_DEPTH:
                return self.beam
            growing = [p for p in self.beam if not self.nodes[p].eos]
            n = max(self.children_per_node, self.beam_width)
            todo = set(self._to_expand(growing, n))
            if todo:  # every growing path advances its cache row, also one already expanded by hand
                log_probs = self._beam_log_probs(growing)  # (B, V)
                rows = [i for i, p in enumerate(growing) if p in todo]
                self._add_children([growing[i] for i in rows], log_probs[rows], n)
            ended = [p for p in self.beam if self.nodes[p].eos]
            pool = ended + [c.path for p in growing for c in self.children(p)]
            pool.sort(key=lambda p: (-self.nodes[p].cum_logprob, p))
            self.beam = tuple(pool[: self.beam_width])
            self.beam_steps += 1
            if self.beam_steps >= MAX_DEPTH or all(self.nodes[p].eos for p in self.beam):
                self._beam_cache = None  # the beam grows no further: free its rows
            return self.beam

    def catch_up(self, beam_steps: int, open_paths: Sequence[Path]) -> list[str]:
        """Replay a view: beam steps up to ``beam_steps``, then expand ``open_paths`` in order (parents first).

        Returns:
            Notes on nodes that could not be expanded (not in the tree with these settings, or over the cap).
        """
        for _ in range(max(0, min(int(beam_steps), MAX_DEPTH) - self.beam_steps)):
            self.beam_step()
        skipped = 0
        for path in sorted(open_paths, key=len):
            if not self.open(path):
                skipped += 1
        if skipped:
            return [
                f"{skipped} expanded node(s) from the link are not in this tree (other settings) and were left out."
            ]
        return []

    # ----- the model ----------------------------------------------------------------------------
    def _run(self, fn):
        return fn() if self.runner is None else self.runner(fn)

    @torch.inference_mode()
    def _prefill(self) -> torch.Tensor:
        """Feed the prompt once into the cache; returns the next-token logits, (V,) float32."""
        ids = torch.tensor([self.prompt_ids])  # (1, T)
        extra = {"logits_to_keep": 1} if self._keep_last else {}
        out = self.lm.model(
            input_ids=ids, attention_mask=torch.ones_like(ids), cache=self._cache, use_cache=True, **extra
        )
        return out.logits[0, -1, :].float()  # (V,) upcast once

    def _log_probs(self, paths: list[Path]) -> torch.Tensor:
        """(B, V) full-vocabulary log-probabilities of the token after each path (all of one length)."""
        depth = len(paths[0])
        if depth == 0:
            return torch.log_softmax(self._root_logits, dim=-1).unsqueeze(0).expand(len(paths), -1)

        @torch.inference_mode()
        def call() -> torch.Tensor:
            cache = copy.deepcopy(self._cache)  # the prompt's keys and values, kept for the next expansion
            cache.batch_repeat_interleave(len(paths))  # (B, kv_heads, T, head_dim) per layer
            ids = torch.tensor(paths)  # (B, depth) the tokens after the prompt
            mask = torch.ones(len(paths), len(self.prompt_ids) + depth, dtype=torch.long)  # (B, T + depth)
            extra = {"logits_to_keep": 1} if self._keep_last else {}
            out = self.lm.model(input_ids=ids, attention_mask=mask, cache=cache, use_cache=True, **extra)
            return torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)  # (B, V) upcast once

        return self._run(call)

    def _beam_log_probs(self, paths: list[Path]) -> torch.Tensor:
        """(B, V) like ``_log_probs`` for the growing beam paths (all of one depth), from the beam's cache rows.

        Each path's parent has a row holding the prompt and the parent's tokens: the rows are picked (a parent with
        two surviving children gives two rows), only each path's last token is fed, and the grown rows become the
        beam's cache. Without such rows (the first steps, a step interrupted half-way, the cache switched off) the
        paths are fed whole after a copy of the prompt's cache, and that cache is kept for the next step.
        """
        depth = len(paths[0])
        if depth == 0:
            return self._log_probs(paths)
        beam = getattr(self, "_beam_cache", None)  # a tree made before a code reload added the cache lacks it
        enabled = getattr(self, "beam_cache_enabled", True)
        held = ((),) if beam is None else beam[0]  # whose tokens the rows hold (None: the prompt's cache only)
        parents = [p[:-1] for p in paths]
        incremental = enabled and all(p in held for p in parents)
        extra = {"logits_to_keep": 1} if self._keep_last else {}

        @torch.inference_mode()
        def call() -> torch.Tensor:
            if incremental:
                cache = copy.deepcopy(self._cache) if beam is None else beam[1]  # the prompt's cache is kept as is
                cache.reorder_cache(torch.tensor([held.index(p) for p in parents]))  # (B, kv_heads, T', head_dim)
                ids = torch.tensor([[p[-1]] for p in paths])  # (B, 1) only the new token of each path
            else:
                cache = copy.deepcopy(self._cache)
                cache.batch_repeat_interleave(len(paths))  # (B, kv_heads, T, head_dim) per layer
                ids = torch.tensor(paths)  # (B, depth) every token after the prompt
            mask = torch.ones(len(paths), len(self.prompt_ids) + depth, dtype=torch.long)  # (B, T + depth)
            out = self.lm.model(input_ids=ids, attention_mask=mask, cache=cache, use_cache=True, **extra)
            budget = getattr(self, "max_beam_cache_bytes", MAX_BEAM_CACHE_BYTES)
            keep = enabled and measured_cache_bytes(cache) <= budget
            self._beam_cache = (tuple(paths), cache) if keep else None
            return torch.log_softmax(out.logits[:, -1, :].float(), dim=-1)  # (B, V) upcast once

        return self._run(call)


def tree_prompt_tokens(lm: LoadedModel) -> int:
    """Prompt tokens the tree reads: MAX_TREE_PROMPT_TOKENS, leaving MAX_DEPTH tokens of room in the window."""
    return max(1, min(MAX_TREE_PROMPT_TOKENS, int(lm.context_length) - MAX_DEPTH))


def score_path(lm: LoadedModel, prompt_ids: Sequence[int], token_ids: Sequence[int], method: str) -> ScoredPath:
    """The model's log-probability of each token of a continuation, from one forward pass (teacher forcing).

    Args:
        prompt_ids: the T prompt ids; token_ids: the N continuation ids.
    """
    token_ids = [int(i) for i in token_ids]
    if not token_ids:
        return ScoredPath(method, (), (), ())
    ids = list(prompt_ids) + token_ids[:-1]
    record = forward_record(lm, ids, Need(positions=len(token_ids)))  # logits (N, V) predicting each token
    log_probs = torch.log_softmax(record.logits, dim=-1)  # (N, V)
    chosen = log_probs[torch.arange(len(token_ids)), torch.tensor(token_ids)].tolist()  # (N,)
    texts = tuple(lm.tokenizer.decode([i]) for i in token_ids)
    return ScoredPath(method, tuple(token_ids), texts, tuple(float(x) for x in chosen))


def decoded_path(
    lm: LoadedModel,
    prompt: str,
    depth: int,
    *,
    temperature: float = 0.0,
    top_k: int = 0,
    top_p: float = 1.0,
    seed: int = 0,
    runner: Runner | None = None,
) -> ScoredPath:
    """A continuation of ``depth`` tokens from the app's decode loop (``Stepper``), scored by ``score_path``.

    Temperature 0 is greedy; otherwise the seeded sampler with temperature / top-k / top-p, exactly as on the
    step-by-step page. The loop stops early at an end-of-sequence token.
    """
    depth = max(1, min(int(depth), MAX_DEPTH))
    stepper = Stepper(
        lm,
        prompt,
        temperature=temperature,
        top_k=top_k,
        top_p=top_p,
        seed=seed,
        max_new_tokens=depth,
        max_prompt_tokens=tree_prompt_tokens(lm),
        runner=runner,
    )
    stepper.run(depth)
    method = "greedy" if temperature == 0 else "sampled"
    prompt_ids = stepper.all_ids[: stepper.prompt_len]
    if runner is None:
        return score_path(lm, prompt_ids, stepper.generated_ids, method)
    return runner(lambda: score_path(lm, prompt_ids, stepper.generated_ids, method))
