"""The shared layer: helpers every capability uses and none owns.

Holds :mod:`.stacks` (a construct's stack, asked once; the region check of
cross-stack values), :mod:`.suggest` ("did you mean ...?"), :mod:`.keywords`
(keywords a call does not take, answered in the library's words), :mod:`.typecheck`
(props checked against their type hints), :mod:`.exports` (a package's names loaded on
first use) and :mod:`.schema` (the botocore request shapes, as data, and the
validator every request is checked with at synth; its ``generate`` writes them, and
the handler's models, from botocore).

May import: the handler (only ``schema.generate``, a maintainer's tool, for the
models it writes beside the handler). Imported by: every capability and the root.
"""
