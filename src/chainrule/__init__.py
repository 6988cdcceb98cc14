"""chainrule: feed-forward neural networks trained by backpropagation, explained number by number."""

from .activations import Identity, ReLU, Sigmoid, Softmax, Tanh, sigmoid, softmax
from .errors import ChainruleError
from .gradcheck import check_gradients
from .layers import Dense, Dropout, Layer
from .losses import HalfSquaredError, Loss, MeanSquaredError, SigmoidBinaryCrossEntropy, SoftmaxCrossEntropy
from .network import Network, mlp
from .optimizers import GradientDescent, Optimizer

__version__ = "0.1.0"

__all__ = ["ChainruleError", "Dense", "Dropout", "GradientDescent", "HalfSquaredError", "Identity", "Layer", "Loss",
           "MeanSquaredError", "Network", "Optimizer", "ReLU", "Sigmoid", "SigmoidBinaryCrossEntropy", "Softmax",
           "SoftmaxCrossEntropy", "Tanh", "check_gradients", "mlp", "sigmoid", "softmax"]
