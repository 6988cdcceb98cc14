"""The network: an ordered list of layers and a loss.

``forward`` runs the layers in order, ``loss`` adds the loss, ``backward`` runs the layers in reverse and leaves every
parameter's gradient in the registry that ``named_gradients`` reads. Optionally a recorder receives what each layer
computed; the explainer attaches one to a real step, so what it shows is what training does.
"""

import numpy as np

from .errors import ChainruleError
from .layers import Dense, Layer
from .losses import Loss
from .validation import as_batch


class Network:
    """**Arguments**: ``layers`` in order, the ``loss`` (which may apply the output function itself), and
    ``in_features``, the input width (taken from the first dense layer when left out)."""

    def __init__(self, layers: list[Layer], loss: Loss, in_features: int | None = None):
        if not layers:
            raise ChainruleError("Network: expected at least one layer, found none")
        dense = [layer for layer in layers if isinstance(layer, Dense)]
        if in_features is None:
            if not dense:
                raise ChainruleError("Network: give in_features, or start with a Dense layer")
            in_features = dense[0].in_features
        self.layers, self.loss_fn, self.in_features = list(layers), loss, int(in_features)
        self.standardizer = None   # input standardisation fitted in training; predict/evaluate apply it
        self.classes = None        # the original class labels, for classifiers trained on a labelled data set
        self.info: dict = {}       # what the model was trained on (data set, split), saved with it
        self._flat: tuple[np.ndarray, np.ndarray] | None = None
        self.out_features = self._check_widths()
        for layer in dense:   # nothing needs dL/dx of the input itself: skip that matrix product
            layer.needs_input_grad = layer is not self.layers[0]

    def _check_widths(self) -> int:
        width, source = self.in_features, f"the input ({self.in_features} features)"
        for index, layer in enumerate(self.layers):
            if isinstance(layer, Dense) and layer.in_features != width:
                raise ChainruleError(
                    f"layer {index} ({layer.describe()}) expects input of shape (N, {layer.in_features}), "
                    f"but {source} gives shape (N, {width})")
            width = layer.output_width(width)
            source = f"layer {index} ({layer.describe()})"
        return width

    @property
    def dtype(self):
        params = self.named_parameters()
        return next(iter(params.values())).dtype if params else np.dtype(np.float64)

    # --- the pass ---------------------------------------------------------------------------------------------
    def forward(self, x: np.ndarray, *, training: bool = False, recorder=None) -> np.ndarray:
        """The raw output ``z: (N, K)`` for ``x: (N, D)`` (one example may be a vector ``(D,)``)."""
        return self._forward(self.check_input(x), training, recorder)

    def _forward(self, x, training=False, recorder=None):
        for index, layer in enumerate(self.layers):
            out = layer.forward(x, training)
            if recorder is not None:
                recorder.forward(index, layer, x, out)
            x = out
        return x

    def loss(self, x, y, *, training: bool = False, recorder=None) -> float:
        """Forward pass and the mean loss over the batch; ``y: (N, K)`` targets in the loss's own form."""
        x = self.check_input(x)
        y = as_batch(y, "targets", self.out_features, dtype=x.dtype)
        if len(y) != len(x):
            raise ChainruleError(f"targets: expected one row per example ({len(x)}), found {len(y)}")
        return self._loss(x, y, training, recorder)

    def _loss(self, x, y, training=False, recorder=None):
        z = self._forward(x, training, recorder)
        value = self.loss_fn.forward(z, y)
        if recorder is not None:
            recorder.loss(self.loss_fn, z, y, value)
        return value

    def backward(self, *, recorder=None, after_params=None, scale: float = 1.0, descend=None) -> None:
        """Gradients of the last ``loss`` for every parameter, left in each layer's ``grads``.

        ``after_params(index, layer)``, if given, runs as soon as a layer's parameter gradients are known and
        before the error is carried below it: a layer-by-layer ("sequential") update uses it, so that the error
        reaching the layers below is computed with the weights already updated. ``scale`` multiplies every
        gradient (they become those of ``scale * L``; see ``SGD.loss_scale``). ``descend(layer, grad_out)``, if
        given, takes each dense layer's step itself from the factors of its weight gradient (``SGD.descend``), once
        the error below has been computed with the weights before the step; that layer's ``grads["weight"]`` is then
        not written.
        """
        grad = self.loss_fn.backward(scale)
        if recorder is not None:
            recorder.loss_backward(self.loss_fn, grad)
        for index in range(len(self.layers) - 1, -1, -1):
            layer = self.layers[index]
            if descend is not None and isinstance(layer, Dense):
                grad_in = layer.input_backward(grad)
                descend(layer, grad)
            elif after_params is not None and layer.params:
                layer.param_backward(grad)
                after_params(index, layer)
                grad_in = layer.input_backward(grad)
            else:
                grad_in = layer.backward(grad)
            if recorder is not None:
                recorder.backward(index, layer, grad, grad_in)
            grad = grad_in

    # --- predictions, on raw inputs (the standardisation fitted in training is applied) ---------------------
    def prepare(self, x, name: str = "input") -> np.ndarray:
        """Raw inputs as a checked batch in the network's dtype, standardised as in training."""
        if self.standardizer is None:
            return as_batch(x, name, self.in_features, dtype=self.dtype)
        # Standardised from the input's own precision: features of size 1e-150 or 1e40 are scaled into float32's
        # range, not flushed to 0 or infinity by a cast first.
        wide = np.float32 if getattr(x, "dtype", None) == np.float32 else np.float64
        prepared = self.standardizer.transform(as_batch(x, name, self.in_features, dtype=wide), self.dtype)
        if not np.isfinite(prepared.sum()) and not np.all(np.isfinite(prepared)):
            row, col = (int(i) for i in np.argwhere(~np.isfinite(prepared))[0])
            raise ChainruleError(f"{name}: row {row}, column {col}: the value is so far outside the training data's "
                                 f"range that standardised it overflows {self.dtype}")
        return prepared

    def predict_proba(self, x, batch_size: int = 4096) -> np.ndarray:
        """The output after the output function: class probabilities for a classifier, values for regression."""
        x = self.prepare(x)
        if len(x) <= batch_size:
            return self.loss_fn.link(self._forward(x))
        return np.concatenate([self.loss_fn.link(self._forward(x[i:i + batch_size]))
                               for i in range(0, len(x), batch_size)])

    def predict(self, x) -> np.ndarray:
        """Class indices for softmax outputs, 0/1 per unit for sigmoid outputs, the values themselves otherwise."""
        out = self.predict_proba(x)
        if self.loss_fn.output == "softmax":
            return out.argmax(axis=1)
        if self.loss_fn.output == "sigmoid":
            return (out >= 0.5).astype(np.int64)
        return out

    def fit(self, X, y=None, *, epochs: int = 10, batch_size: int = 32, optimizer=None, validation_data=None,
            validation_split: float = 0.0, callbacks=(), verbose: int = 1, seed: int = 0, shuffle: bool = True,
            standardize: bool = False, checkpoint=None, resume: bool = False, sample_weight=None):
        """Train on ``X: (N, D)`` and ``y`` (labels ``(N,)`` or targets ``(N, K)``), or on an iterable of
        ``(X_batch, y_batch)`` chunks with no ``y``; returns the ``History``. ``optimizer`` defaults to
        ``SGD(lr=0.01)``. See ``chainrule.training.fit`` for each option."""
        from .training import fit
        return fit(self, X, y, epochs=epochs, batch_size=batch_size, optimizer=optimizer,
                   validation_data=validation_data, validation_split=validation_split, callbacks=callbacks,
                   verbose=verbose, seed=seed, shuffle=shuffle, standardize=standardize, checkpoint=checkpoint,
                   resume=resume, sample_weight=sample_weight)

    def evaluate(self, X, y) -> dict[str, float]:
        """``{"loss": ..., "accuracy": ...}`` (no accuracy for regression) on raw inputs and labels or targets."""
        from .training import encode_targets, evaluate_encoded
        x = self.prepare(X, "X")
        loss, accuracy = evaluate_encoded(self, x, encode_targets(self, y, len(x)))
        return {"loss": loss} if accuracy is None else {"loss": loss, "accuracy": accuracy}

    def save(self, path) -> None:
        """Write the model (architecture, weights, standardisation) as ``.npz``; atomic, never a pickle."""
        from .modelfile import save_model
        save_model(self, path)

    # --- the parameter registry -------------------------------------------------------------------------------
    def named_parameters(self) -> dict[str, np.ndarray]:
        """Every parameter array by name, ``"<layer index>.<name>"`` (``"0.weight"``, ``"0.bias"``, ...)."""
        return {f"{i}.{name}": p for i, layer in enumerate(self.layers) for name, p in layer.params.items()}

    def named_gradients(self) -> dict[str, np.ndarray]:
        """The gradients of the last ``backward``, under the same names as ``named_parameters``."""
        return {f"{i}.{name}": layer.grads[name] for i, layer in enumerate(self.layers) for name in layer.params}

    def flat_parameters(self) -> tuple[np.ndarray, np.ndarray]:
        """All parameters as one contiguous 1-D array, and all gradients as another, made on first use.

        Every layer's parameter and gradient arrays become views into these two, so the registry's names still reach
        the same memory, and an optimizer can update the whole network with a handful of array operations instead
        of a handful per parameter array (the elementwise results are the same, bit for bit).
        """
        params = self.named_parameters()
        if self._flat is not None and all(p.base is self._flat[0] for p in params.values()):
            return self._flat
        total = sum(p.size for p in params.values())
        flat_params, flat_grads = np.empty(total, dtype=self.dtype), np.zeros(total, dtype=self.dtype)
        offset = 0
        for layer in self.layers:
            for name, param in layer.params.items():
                view = flat_params[offset:offset + param.size].reshape(param.shape)
                view[...] = param
                layer.params[name] = view
                layer.grads[name] = flat_grads[offset:offset + param.size].reshape(param.shape)
                offset += param.size
        self._flat = flat_params, flat_grads
        return self._flat

    def check_input(self, x) -> np.ndarray:
        return as_batch(x, "input", self.in_features, dtype=self.dtype)

    def summary(self, print_fn=print) -> None:
        """Print a table of the layers (as Keras's ``model.summary()``): each layer, its output shape and its
        number of parameters, then the totals. ``print_fn`` receives each line (``print`` by default)."""
        rows, width = [], self.in_features
        for index, layer in enumerate(self.layers):
            width = layer.output_width(width)
            count = sum(p.size for p in layer.params.values())
            rows.append((f"{index} {layer.describe()}", f"(None, {width})", f"{count:,}"))
        if getattr(self.loss_fn, "output", None):
            rows.append((f"  {self.loss_fn.output} (in the loss)", f"(None, {width})", "0"))
        header = ("Layer", "Output shape", "Param #")
        sizes = [max(len(r[k]) for r in rows + [header]) + 3 for k in range(3)]
        rule = "─" * sum(sizes)
        line = lambda r: f"{r[0]:<{sizes[0]}}{r[1]:<{sizes[1]}}{r[2]:>{sizes[2] - 3}}"   # noqa: E731
        total = sum(p.size for p in self.named_parameters().values())
        for text in [f"Network: {self.in_features} inputs, loss {self.loss_fn.name}, {np.dtype(self.dtype).name}",
                     rule, line(header), "═" * sum(sizes), *map(line, rows), rule,
                     f"Total params: {total:,}", f"Trainable params: {total:,}", "Non-trainable params: 0"]:
            print_fn(text)

    def __repr__(self):
        """Short: the widths with their activations, the loss and the size, never the arrays."""
        parts, pending = [f"{self.in_features}"], None
        for layer in self.layers:
            if isinstance(layer, Dense):
                if pending is not None:
                    parts.append(pending)
                pending = f"{layer.out_features}"
            elif type(layer).__name__ == "Dropout" and pending is not None:
                pending += f" dropout {layer.rate:g}"
            elif layer.params == {} and pending is not None:
                pending += f" {type(layer).__name__.lower()}"
        head = getattr(self.loss_fn, "output", None)
        if head and not pending.endswith(f" {head}"):
            pending += f" {head}"
        parts.append(pending)
        total = sum(p.size for p in self.named_parameters().values())
        return (f"Network({' → '.join(parts)}; loss {self.loss_fn.name}; {total:,} parameters, "
                f"{np.dtype(self.dtype).name})")


MAX_PARAMETERS = 100_000_000      # 400 MB of float32 weights, before gradients and optimizer state


def mlp(sizes, activation: str = "relu", *, output: str = "softmax", loss: str | None = None, dropout: float = 0.0,
        dtype=np.float32, seed: int | np.random.Generator | None = 0) -> Network:
    """A multilayer perceptron from layer widths, ``sizes = [D_in, hidden..., K]``.

    Hidden layers are ``Dense -> activation`` (``-> Dropout`` when ``dropout > 0``), initialised as suits the
    activation (He for ReLU, Glorot otherwise). The output pairs ``output`` with ``loss`` (by default the matching
    one: softmax + cross-entropy, sigmoid + binary cross-entropy, identity + mean squared error).
    float32 by default, for training; use float64 for gradient checks and explanations.
    """
    from .activations import ACTIVATIONS, HIDDEN_ACTIVATIONS
    from .layers import Dropout
    from .losses import output_head

    sizes = [int(s) for s in sizes]
    if len(sizes) < 2 or min(sizes) < 1:
        raise ChainruleError(f"mlp: expected at least two positive layer sizes [inputs, ..., outputs], found {sizes}")
    parameters = sum((a + 1) * b for a, b in zip(sizes[:-1], sizes[1:]))
    if parameters > MAX_PARAMETERS:
        raise ChainruleError(f"mlp: layer sizes {sizes} make {parameters:,} parameters; expected at most "
                             f"{MAX_PARAMETERS:,} (smaller hidden layers)")
    if activation not in HIDDEN_ACTIVATIONS:
        raise ChainruleError(f"mlp: activation must be one of {HIDDEN_ACTIVATIONS}, found {activation!r}")
    rng = seed if isinstance(seed, np.random.Generator) else np.random.default_rng(seed)
    init = "he" if activation == "relu" else "glorot"
    head, loss_fn = output_head(output, loss)
    layers: list[Layer] = []
    for fan_in, fan_out in zip(sizes[:-2], sizes[1:-1], strict=True):
        layers += [Dense(fan_in, fan_out, init=init, rng=rng, dtype=dtype), ACTIVATIONS[activation]()]
        if dropout > 0:
            layers.append(Dropout(dropout, rng=rng))
    layers += [Dense(sizes[-2], sizes[-1], init="glorot", rng=rng, dtype=dtype)] + head
    return Network(layers, loss_fn)
