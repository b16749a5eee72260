"""The code of the job that repacks a trained model for serving (``repack.py``): a
framework's serving container that reads its code from ``model.tar.gz``'s ``code/``
gets the model with the serving code inside, as the SageMaker SDK's repack step
makes it. It runs on SageMaker's scikit-learn container, not in the library."""

from pathlib import Path

DIRECTORY = Path(__file__).resolve().parent
ENTRY_POINT = "repack.py"
