"""chainrule: feed-forward neural networks trained by backpropagation, explained number by number."""

from . import datasets, explainer
from .activations import Identity, ReLU, Sigmoid, Softmax, Tanh, sigmoid, softmax
from .callbacks import EarlyStopping
from .errors import ChainruleError
from .explainer.api import Explanation, explain   # the notebook function; its package is chainrule.explainer
from .gradcheck import check_gradients
from . import io
from .io import load
from .layers import Dense, Dropout, Layer
from .losses import (AbsoluteError, ExpPoissonDeviance, HalfSquaredError, Huber, Loss, MeanSquaredError,
                     SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy)
from .network import Network, mlp
from .optimizers import SGD, Adam, CosineDecay, GradientDescent, InverseScaling, Optimizer, StepDecay
from .training import Callback, History, Standardizer, TrainingDiverged, fit

__version__ = "0.1.0"

__all__ = ["MLPClassifier", "MLPRegressor", "AbsoluteError", "Huber", "Adam", "Callback", "ChainruleError",
           "CosineDecay", "Dense", "Dropout", "EarlyStopping", "Explanation", "explain", "ExpPoissonDeviance",
           "GradientDescent", "HalfSquaredError", "History", "Identity", "InverseScaling", "Layer", "Loss",
           "MeanSquaredError", "Network", "Optimizer", "ReLU", "SGD", "Sigmoid", "SigmoidBinaryCrossEntropy",
           "Softmax", "SoftmaxCrossEntropy", "Standardizer", "StepDecay", "Tanh", "TrainingDiverged",
           "check_gradients", "datasets", "fit", "io", "load", "mlp", "sigmoid", "softmax"]


LAZY_MODULES = ("plots", "export", "estimators", "distributed", "teach")


def __getattr__(name):
    """The scikit-learn estimators load on first use, so that the engine needs only NumPy."""
    if name in ("MLPClassifier", "MLPRegressor"):
        from . import estimators
        return getattr(estimators, name)
    if name in LAZY_MODULES:          # they need optional extras (matplotlib, onnx): loaded on first use
        import importlib
        return importlib.import_module(f".{name}", __name__)
    raise AttributeError(f"module 'chainrule' has no attribute {name!r}")
