"""Batched decoding for the transformers backend, with a prefix KV cache shared across calls.

A rollout re-renders its whole conversation every turn, and guided decoding continues the same
prompt three times per turn (reasoning, tool choice, argument). :class:`PrefixCache` keeps the
KV cache (transformers' ``DynamicCache`` tensors) of recently run token sequences; a new prompt
reuses the longest common token prefix with any kept sequence (its own last step, or a sibling
sample's system prompt) and only the rest is prefilled. Rows of a batch hold caches of different
lengths: each row's cache is left-padded and its new tokens too, the padding masked out, and
positions given per row, so a row computes what it would alone. Sampling uses one seeded
generator per row (seeded from the call's seed and the row's index), so outputs do not depend
on batching or on the cache: ``kv_cache: false`` gives the same tokens, only slower.

Within one call (with the prefix cache on) the batch's cache is a :class:`GrowingCache`:
transformers' ``DynamicCache`` with layers that write each step's keys and values into
preallocated room (:class:`GrowingLayer`) instead of concatenating, which copies the whole cache
at every step of every layer. ``kv_cache: false`` is the baseline: a plain ``DynamicCache`` per
call, nothing kept between calls.
"""

from __future__ import annotations

import inspect
import time
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass

import numpy as np
import torch
from transformers import DynamicCache
from transformers.cache_utils import DynamicLayer

STOP_WINDOW = 16  # tokens decoded at the tail of a row to look for a stop string
MIN_SHARED = 16  # a prefix that rows of one call share is run once when it is at least this long


class GrowingLayer(DynamicLayer):
    """A ``DynamicLayer`` whose keys and values are views into a buffer with room to grow: an update
    writes the new states in place (the buffer is reallocated, 1.5x, only when full), so a decoding
    step costs what its new token costs, not a copy of the whole cache. ``headroom``: positions to
    leave free beyond the first update (the tokens a call will decode)."""

    def __init__(self, headroom: int = 0):
        super().__init__()
        self.headroom = headroom
        self._k = self._v = None
        self._len = 0

    @classmethod
    def adopt(cls, k: torch.Tensor, v: torch.Tensor, length: int) -> GrowingLayer:
        """A layer over buffers ``k``, ``v`` ([B, heads, capacity, dim]) whose first ``length``
        positions hold the cache already (no copy)."""
        layer = cls()
        layer.is_initialized, layer.device = True, k.device
        layer._k, layer._v, layer._len = k, v, length
        layer.keys, layer.values = k[:, :, :length], v[:, :, :length]
        return layer

    def lazy_initialization(self, key_states: torch.Tensor, value_states: torch.Tensor) -> None:
        super().lazy_initialization(key_states, value_states)
        self._k = self._v = None
        self._len = 0

    def _ensure(self, need: int, k_like: torch.Tensor, v_like: torch.Tensor) -> None:
        if self._k is not None and need <= self._k.shape[2]:
            return
        cap = need + self.headroom if self._k is None else max(need, self._k.shape[2] * 3 // 2 + 16)
        k = k_like.new_empty((k_like.shape[0], k_like.shape[1], cap, k_like.shape[3]))
        v = v_like.new_empty((v_like.shape[0], v_like.shape[1], cap, v_like.shape[3]))
        if self._k is not None and self._len:
            k[:, :, :self._len] = self._k[:, :, :self._len]
            v[:, :, :self._len] = self._v[:, :, :self._len]
        self._k, self._v = k, v

    def update(self, key_states: torch.Tensor, value_states: torch.Tensor, *args, **kwargs):
        if not self.is_initialized:
            self.lazy_initialization(key_states, value_states)
        n = self._len + key_states.shape[2]
        self._ensure(n, key_states, value_states)
        self._k[:, :, self._len:n] = key_states
        self._v[:, :, self._len:n] = value_states
        self._len = n
        self.keys, self.values = self._k[:, :, :n], self._v[:, :, :n]
        return self.keys, self.values

    def batch_select_indices(self, indices: torch.Tensor) -> None:
        if self.get_seq_length() > 0:
            self._k, self._v = self._k[indices], self._v[indices]
            self.keys, self.values = self._k[:, :, :self._len], self._v[:, :, :self._len]

    def crop(self, tokens_to_remove: int) -> None:
        raise NotImplementedError("GrowingLayer is not croppable")

    def batch_repeat_interleave(self, repeats: int) -> None:
        raise NotImplementedError("GrowingLayer does not repeat batches")


class GrowingCache(DynamicCache):
    """A ``DynamicCache`` of :class:`GrowingLayer` layers: empty (each layer allocates at its first
    update, with ``headroom`` positions to spare) or over given layers."""

    def __init__(self, headroom: int = 0, layers: list[GrowingLayer] | None = None):
        if layers:
            super(DynamicCache, self).__init__(layers=layers)
        else:
            super(DynamicCache, self).__init__(layer_class_to_replicate=lambda: GrowingLayer(headroom))


@dataclass
class Entry:
    ids: np.ndarray  # the token ids this cache covers
    kv: list[tuple[torch.Tensor, torch.Tensor]]  # per layer (key, value), each [1, heads, len(ids), dim]
    nbytes: int


class PrefixCache:
    """KV caches of token sequences, looked up by longest common prefix; least recently used
    entries are dropped beyond ``max_bytes``."""

    def __init__(self, max_bytes: int):
        self.max_bytes = max_bytes
        self.entries: OrderedDict[int, Entry] = OrderedDict()
        self.bytes = 0
        self._next = 0
        self.hits = self.reused_tokens = self.lookups = 0

    def lookup(self, ids: np.ndarray) -> tuple[int, Entry | None, int | None]:
        """(reusable length, entry, key): at most ``len(ids) - 1``, so one token is left to run."""
        self.lookups += 1
        best, best_key = 0, None
        for key, e in self.entries.items():
            m = min(len(e.ids), len(ids) - 1)
            if m <= best:
                continue
            diff = np.flatnonzero(e.ids[:m] != ids[:m])
            n = int(diff[0]) if len(diff) else m
            if n > best:
                best, best_key = n, key
        if best_key is None:
            return 0, None, None
        self.entries.move_to_end(best_key)
        self.hits += 1
        self.reused_tokens += best
        return best, self.entries[best_key], best_key

    def store(self, ids: np.ndarray, kv: list[tuple[torch.Tensor, torch.Tensor]], replaces: int | None) -> None:
        """Keep ``kv`` for ``ids``; the entry it extended (``replaces``) is dropped when this one
        covers it whole (a conversation's last step is subsumed by its next)."""
        if replaces is not None and replaces in self.entries:
            old = self.entries[replaces]
            if len(old.ids) <= len(ids) and np.array_equal(old.ids, ids[:len(old.ids)]):
                self.bytes -= self.entries.pop(replaces).nbytes
        nbytes = sum(k.numel() * k.element_size() + v.numel() * v.element_size() for k, v in kv)
        if nbytes > self.max_bytes:
            return
        self.entries[self._next] = Entry(ids, kv, nbytes)
        self._next += 1
        self.bytes += nbytes
        while self.bytes > self.max_bytes:
            self.bytes -= self.entries.popitem(last=False)[1].nbytes

    def clear(self) -> None:
        self.entries.clear()
        self.bytes = 0


@dataclass
class Row:
    """One prompt of a batch: its token ids and what the cache gives it."""

    ids: np.ndarray
    cached: int = 0
    entry: Entry | None = None
    key: int | None = None


class Decoder:
    """Prefill and sample for a causal LM, reusing :class:`PrefixCache` entries where allowed."""

    def __init__(self, model, tokenizer, cache: PrefixCache | None):
        self.model, self.tok, self.cache = model, tokenizer, cache
        self.pad = tokenizer.pad_token_id if tokenizer.pad_token_id is not None else tokenizer.eos_token_id
        # transformers renamed forward's past_key_values to cache (5.x); take whichever this one has
        params = inspect.signature(model.forward).parameters
        self._cache_arg = "cache" if "cache" in params else "past_key_values"
        self._last_only = {"logits_to_keep": 1} if "logits_to_keep" in params else {}  # else every position's

    def rows(self, prompts: list[str]) -> list[Row]:
        """The prompts as rows, each with the longest cached prefix it can reuse. Prefixes that
        several rows share beyond their cached part (a scenario's k samples, a scenario's cue
        variants) are run once first, so each row then runs only its own remainder."""
        ids = [np.asarray(x, dtype=np.int64) for x in self.tok(prompts, add_special_tokens=False).input_ids]
        rows = self._lookup(ids)
        if self.cache is not None:
            shared = self._shared_prefixes(rows)
            if shared:
                prefix_rows = self._lookup(shared)
                _, cache, _, _, P, S = self.prefill(prefix_rows)
                self.keep(prefix_rows, cache, P, S, [[] for _ in prefix_rows])
                rows = self._lookup(ids)
        return rows

    def _lookup(self, ids: list[np.ndarray]) -> list[Row]:
        rows = [Row(x) for x in ids]
        if self.cache is not None:
            for row in rows:
                if len(row.ids) > 1:
                    row.cached, row.entry, row.key = self.cache.lookup(row.ids)
        return rows

    @staticmethod
    def _shared_prefixes(rows: list[Row]) -> list[np.ndarray]:
        """Distinct prefixes of at least ``MIN_SHARED`` uncached tokens that two or more rows share
        (neighbours in lexicographic order share the longest ones)."""
        order = sorted(range(len(rows)), key=lambda i: rows[i].ids.tolist())
        lcp = [0] * len(rows)
        for a, b in zip(order, order[1:]):
            x, y = rows[a].ids, rows[b].ids
            m = min(len(x), len(y))
            diff = np.flatnonzero(x[:m] != y[:m])
            n = int(diff[0]) if len(diff) else m
            lcp[a], lcp[b] = max(lcp[a], n), max(lcp[b], n)
        out: dict[bytes, np.ndarray] = {}
        for row, n in zip(rows, lcp):
            n = min(n, len(row.ids) - 1)
            if n - row.cached >= MIN_SHARED:
                out.setdefault(row.ids[:n].tobytes(), row.ids[:n])
        return list(out.values())

    def prefill(self, rows: list[Row], reserve: int = 0):
        """One forward over every row's uncached tokens, leaving room in the cache for ``reserve``
        more tokens. Returns (last logits [B, V], the batch cache, attention mask [B, P + S], next
        position per row, P, S)."""
        B = len(rows)
        P = max(r.cached for r in rows)
        S = max(len(r.ids) - r.cached for r in rows)
        input_ids = torch.full((B, S), self.pad, dtype=torch.long)
        mask = torch.zeros((B, P + S), dtype=torch.long)
        positions = torch.zeros((B, S), dtype=torch.long)
        for b, r in enumerate(rows):
            s = len(r.ids) - r.cached
            input_ids[b, S - s:] = torch.from_numpy(r.ids[r.cached:])
            mask[b, P - r.cached:P] = 1
            mask[b, P + S - s:] = 1
            positions[b, S - s:] = torch.arange(r.cached, len(r.ids))
        if self.cache is None:  # the baseline: transformers' own DynamicCache, nothing kept between calls
            cache = DynamicCache()
        elif not P:
            cache = GrowingCache(headroom=reserve)
        else:  # each row's cached part, left-padded, straight into buffers with room for S + reserve
            ref = next(r.entry for r in rows if r.entry is not None).kv
            layers = []
            for layer, (ref_k, ref_v) in enumerate(ref):
                k = ref_k.new_empty((B, ref_k.shape[1], P + S + reserve, ref_k.shape[3]))
                v = ref_v.new_empty((B, ref_v.shape[1], P + S + reserve, ref_v.shape[3]))
                for b, r in enumerate(rows):
                    pad = P - r.cached
                    if pad:  # masked out, but zeros: never NaN garbage times a zero weight
                        k[b, :, :pad].zero_()
                        v[b, :, :pad].zero_()
                    if r.cached:
                        k[b, :, pad:P] = r.entry.kv[layer][0][0, :, :r.cached]
                        v[b, :, pad:P] = r.entry.kv[layer][1][0, :, :r.cached]
                layers.append(GrowingLayer.adopt(k, v, P))
            cache = GrowingCache(layers=layers)
        out = self._forward(input_ids, mask, positions, cache)
        nxt = torch.tensor([len(r.ids) for r in rows], dtype=torch.long)
        return out.logits[:, -1, :].float(), self._cache_of(out), mask, nxt, P, S

    def _forward(self, input_ids, mask, positions, cache):
        """One forward pass extending ``cache``; logits of the last position only."""
        device = self.model.device
        return self.model(input_ids=input_ids.to(device), attention_mask=mask.to(device),
                          position_ids=positions.to(device), use_cache=True,
                          **self._last_only, **{self._cache_arg: cache})

    @staticmethod
    def _cache_of(out):
        return out["cache"] if "cache" in out.keys() else out["past_key_values"]

    def keep(self, rows: list[Row], cache, P: int, S: int, fed: list[list[int]], at: list[int] | None = None) -> None:
        """Store each row's cache: its cached part, its prompt, and the generated tokens that were
        fed (which sit at ``P + S + [0, len(fed))``). ``at``: each row's position in the batch."""
        if self.cache is None:
            return
        kv = [(layer.keys, layer.values) for layer in cache.layers]
        for b, r, f in zip(at if at is not None else range(len(rows)), rows, fed):
            s = len(r.ids) - r.cached
            idx = torch.cat([torch.arange(P - r.cached, P), torch.arange(P + S - s, P + S),
                             torch.arange(P + S, P + S + len(f))]).to(kv[0][0].device)
            row_kv = [(k[b:b + 1].index_select(2, idx), v[b:b + 1].index_select(2, idx))  # new tensors: no clone
                      for k, v in kv]
            self.cache.store(np.concatenate([r.ids, np.asarray(f, dtype=np.int64)]), row_kv, r.key)

    @torch.no_grad()
    def next_logits(self, prompts: list[str]) -> torch.Tensor:
        """The next-token logits after each prompt ([B, V], float32), caching what it ran."""
        rows = self.rows(prompts)
        logits, cache, _, _, P, S = self.prefill(rows)
        self.keep(rows, cache, P, S, [[] for _ in rows])
        return logits

    @torch.no_grad()
    def generate(self, prompts: list[str], *, max_new: int, seeds: list[int], temperature: float, top_p: float,
                 stop: list[str] | None, stop_ids: set[int], min_new: int | None = None,
                 on_step: Callable[[int], None] | None = None) -> tuple[list[list[int]], float]:
        """Sampled (greedy at temperature 0) continuations as token ids (eos excluded) and the
        seconds spent. A row ends at an eos/pad token (unless ``min_new``), when its text contains
        a stop string, or at ``max_new`` tokens. ``on_step(rows)``: called after each decoding step
        with the number of rows that got a token (live progress)."""
        t0 = time.perf_counter()
        rows = self.rows(prompts)
        logits, cache, mask, nxt, P, S = self.prefill(rows, reserve=max_new)
        gens = [torch.Generator().manual_seed(s) for s in seeds]
        out: list[list[int]] = [[] for _ in rows]
        fed: list[list[int]] = [[] for _ in rows]
        done = [False] * len(rows)
        live = list(range(len(rows)))  # the rows still in the batch, by batch position
        for _ in range(max_new):
            active = sum(not done[b] for b in live)
            for pos, b in enumerate(live):
                if done[b]:
                    continue
                t = self._sample(logits[pos], gens[b], temperature, top_p)
                if t in stop_ids and not min_new:
                    done[b] = True
                    continue
                out[b].append(t)
                if len(out[b]) >= max_new or (stop and self._stopped(out[b], stop)):
                    done[b] = True
            if on_step is not None:
                on_step(active)
            if all(done):
                break
            finished = [pos for pos, b in enumerate(live) if done[b]]
            if len(finished) * 4 >= len(live):  # a quarter of the batch idles: drop the finished rows
                self.keep([rows[live[p]] for p in finished], cache, P, S, [fed[live[p]] for p in finished], finished)
                stay = [pos for pos, b in enumerate(live) if not done[b]]
                cache.batch_select_indices(torch.tensor(stay, device=self.model.device))
                mask, nxt, live = mask[stay], nxt[stay], [live[p] for p in stay]
            for b in live:
                if not done[b]:
                    fed[b].append(out[b][-1])
            step_ids = torch.tensor([[out[b][-1] if not done[b] else self.pad] for b in live], dtype=torch.long)
            mask = torch.cat([mask, torch.ones((len(live), 1), dtype=torch.long)], dim=1)
            res = self._forward(step_ids, mask, nxt[:, None], cache)
            cache, logits = self._cache_of(res), res.logits[:, -1, :].float()
            nxt = nxt + 1
        self.keep([rows[b] for b in live], cache, P, S, [fed[b] for b in live], list(range(len(live))))
        return out, time.perf_counter() - t0

    def _stopped(self, ids: list[int], stop: list[str]) -> bool:
        tail = self.tok.decode(ids[-STOP_WINDOW:], skip_special_tokens=True)
        return any(s in tail for s in stop)

    @staticmethod
    def _sample(logits: torch.Tensor, gen: torch.Generator, temperature: float, top_p: float) -> int:
        if temperature <= 0:
            return int(logits.argmax())
        probs = torch.softmax(logits / temperature, dim=-1)
        if top_p < 1.0:
            sorted_probs, order = probs.sort(descending=True)
            keep = sorted_probs.cumsum(-1) - sorted_probs < top_p  # smallest set reaching top_p (first always)
            probs = torch.zeros_like(probs).scatter(0, order[keep], sorted_probs[keep])
        return int(torch.multinomial(probs, 1, generator=gen))
