"""The security wiring every capability shares: a role's grants as one compact inline
policy (:mod:`._principal`, :mod:`._compact`), the compliance findings the library's
constructs cause and their acknowledgments (:mod:`._nag`), the network of a job and
of the provider's functions (:mod:`._network`), pulling an image from ECR
(:mod:`._ecr_pull`), and the IAM limits that bite at deploy, checked at synth
(:mod:`._limits`).

May import: nothing of the library (a leaf). Imported by: provider, definition, core,
serving, schedule, queueing, training, tuning. No public names.
"""
