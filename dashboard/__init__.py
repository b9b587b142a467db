"""The safeguarding performance dashboard.

One BLAS thread per process unless the environment says otherwise: the demand projections fit
many tiny models (statsmodels' ETS), where OpenBLAS's threads only contend with each other and
with gunicorn's other workers; on a busy two-core machine one thread made a fit about 9 times
faster (0.8 s to 0.09 s). Set before numpy is first imported, which the package's own entry
points (``app.py``, ``python -m dashboard``) guarantee.
"""
import os

for _name in ("OPENBLAS_NUM_THREADS", "OMP_NUM_THREADS", "MKL_NUM_THREADS"):
    os.environ.setdefault(_name, "1")
