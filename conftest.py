"""Root pytest set-up: must run before torch is imported anywhere in the session."""

import os

# Two torch processes at once otherwise spin on each other's cores (see README, "Testing").
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")
os.environ.setdefault("SEQATTN_FAST", "1")
