"""dlib's face-recognition ResNet, read from its own model file and run with NumPy.

The identity embedding is dlib's `dlib_face_recognition_resnet_model_v1` (face-recognition-models): a 29-layer
ResNet on a 150×150 face chip, giving a 128-D vector. The prebuilt dlib wheel runs it without BLAS (80–97 ms a
face on this machine); the same layers as matrix products in single-threaded OpenBLAS take 13–18 ms and give the
same vector (within 10⁻⁵ on every test face: tests/proctor/test_face_resnet.py holds it against dlib's own). The face
chip is still cut by dlib (`dlib.get_face_chip`, its 5-point alignment); only the network's arithmetic is ours.

The model file is read as dlib serialises a network: each layer after the one feeding it (input first), a layer's
name then its parameters, tensors as little-endian float32 after a version and their four dimensions, integers as
one control byte (length in the low bits, 0x80 for a negative number) and that many little-endian bytes. Only the
layers the network has are read, in the order dlib's example defines them (`dnn_face_recognition_ex.cpp`), and
any other file is refused with ModelFileError rather than guessed at.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import numpy.typing as npt
from numpy.lib.stride_tricks import sliding_window_view
from threadpoolctl import ThreadpoolController

from models import ModelFileError

Tensor = npt.NDArray[np.float32]

CHIP_SIZE = 150
"""The network's input: a 150×150 RGB face chip."""

_CHANNEL_MEANS = np.array([122.782, 117.001, 104.298], dtype=np.float32)
"""dlib's `input_rgb_image_sized<150>`: (pixel − mean) / 256 per channel (R, G, B), as stored in the model file."""

_LAYER = re.compile(rb"\x01([\x04-\x0a])(con_4|affine_|relu_|max_pool_2|avg_pool_2|add_prev_|fc_2)")

_BLOCKS = (32, 32, 32, 64, 64, 64, 64, 128, 128, 128, 256, 256, 256, 256)
"""The residual blocks' widths, input first: dlib's alevel4 (3 × 32), alevel3 (4 × 64), alevel2 (3 × 128), alevel1
(3 × 256) and alevel0 (1 × 256); the first block of each level after the first halves the picture."""


_HALVES = tuple(
    number > 0 and (width != _BLOCKS[number - 1] or number == len(_BLOCKS) - 1) for number, width in enumerate(_BLOCKS)
)
"""Which blocks halve the picture: the first of each level after alevel4, and alevel0's one block."""


def _expected_layers() -> list[str]:
    names = ["con_4", "affine_", "relu_", "max_pool_2"]
    for halves in _HALVES:
        names += ["con_4", "affine_", "relu_", "con_4", "affine_"]
        names += ["avg_pool_2", "add_prev_", "relu_"] if halves else ["add_prev_", "relu_"]
    return [*names, "avg_pool_2", "fc_2"]


@dataclass(frozen=True)
class _Conv:
    weights: Tensor
    """(filters, channels × rows × columns): one filter a row, as im2col's columns expect."""
    bias: Tensor
    size: int
    stride: int
    padding: int


@dataclass(frozen=True)
class _Block:
    """A residual block: conv → affine → ReLU → conv → affine, plus its input (average-pooled when it halves)."""

    first: _Conv
    first_scale: tuple[Tensor, Tensor]
    second: _Conv
    second_scale: tuple[Tensor, Tensor]
    halves: bool


class _Reader:
    """dlib's serialisation, from a position of the model file."""

    def __init__(self, data: bytes, position: int) -> None:
        self._data = data
        self._at = position

    def integer(self) -> int:
        control = self._data[self._at]
        length = control & 0x0F
        value = int.from_bytes(self._data[self._at + 1 : self._at + 1 + length], "little")
        self._at += 1 + length
        return -value if control & 0x80 else value

    def tensor(self) -> Tensor:
        if self.integer() != 2:
            raise ModelFileError("face ResNet: a tensor of an unknown serialisation version")
        count = 1
        for _ in range(4):
            count *= self.integer()
        if self._at + 4 * count > len(self._data):
            raise ModelFileError("face ResNet: the model file ends inside a tensor")
        values = np.frombuffer(self._data, dtype="<f4", count=count, offset=self._at).astype(np.float32)
        self._at += 4 * count
        return values


class FaceResNet:
    """The 128-D face embedding of a 150×150 RGB chip, computed as dlib computes it."""

    def __init__(self, path: Path) -> None:
        try:
            data = path.read_bytes()
        except OSError as exc:
            raise ModelFileError(f"face ResNet: cannot read {path}: {exc.strerror}") from exc
        try:
            self._read(path, data)
        except (IndexError, ValueError) as exc:  # a file cut short or garbled between the layers' names
            raise ModelFileError(f"face ResNet: {path} cannot be read as dlib's network ({exc})") from exc
        self._threads = ThreadpoolController()

    def _read(self, path: Path, data: bytes) -> None:
        found = [
            (match.end(), match.group(2).decode())
            for match in _LAYER.finditer(data)
            if match.group(1)[0] == len(match.group(2))
        ]
        if [name for _, name in found] != _expected_layers():
            raise ModelFileError(f"face ResNet: {path} is not dlib's face recognition ResNet (its layers differ)")
        convolutions = [self._conv(_Reader(data, end)) for end, name in found if name == "con_4"]
        scales = [self._affine(_Reader(data, end)) for end, name in found if name == "affine_"]
        fc = _Reader(data, found[-1][0])
        outputs, inputs = fc.integer(), fc.integer()
        weights = fc.tensor()
        if weights.size != outputs * inputs:
            raise ModelFileError("face ResNet: the last layer's weights do not fit its size")
        self._fc = weights.reshape(inputs, outputs)
        self._stem = convolutions[0], scales[0]
        self._blocks: list[_Block] = []
        width = _BLOCKS[0]
        for number, (blocks_width, halves) in enumerate(zip(_BLOCKS, _HALVES, strict=True)):
            first, second = convolutions[1 + 2 * number], convolutions[2 + 2 * number]
            if (first.weights.shape[0], second.weights.shape[0]) != (blocks_width, blocks_width):
                raise ModelFileError("face ResNet: a residual block's width differs from dlib's network")
            if (first.stride, second.stride) != ((2 if halves else 1), 1):
                raise ModelFileError("face ResNet: a residual block's strides differ from dlib's network")
            self._blocks.append(_Block(first, scales[1 + 2 * number], second, scales[2 + 2 * number], halves))
            width = blocks_width
        if width != inputs:
            raise ModelFileError("face ResNet: the last layer does not read the last block")

    @staticmethod
    def _conv(reader: _Reader) -> _Conv:
        params = reader.tensor()
        filters, rows, columns, stride_y, stride_x, padding_y, padding_x = (reader.integer() for _ in range(7))
        if rows != columns or stride_y != stride_x or padding_y != padding_x or filters <= 0:
            raise ModelFileError("face ResNet: a convolution that is not square")
        weight_count = params.size - filters
        if weight_count <= 0 or weight_count % (filters * rows * columns):
            raise ModelFileError("face ResNet: a convolution's parameters do not fit its size")
        weights = params[:weight_count].reshape(filters, -1)
        return _Conv(weights, params[weight_count:].reshape(filters, 1), rows, stride_y, padding_y)

    @staticmethod
    def _affine(reader: _Reader) -> tuple[Tensor, Tensor]:
        params = reader.tensor()
        half = params.size // 2
        return params[:half].reshape(half, 1, 1), params[half:].reshape(half, 1, 1)

    def embed(self, chip: npt.NDArray[np.uint8]) -> npt.NDArray[np.float64]:
        """The embedding of an aligned 150×150 RGB face chip (dlib's `get_face_chip`, padding 0.25)."""
        if chip.shape != (CHIP_SIZE, CHIP_SIZE, 3):
            raise ValueError(f"a face chip is {CHIP_SIZE}×{CHIP_SIZE}×3, not {chip.shape}")
        x: Tensor = np.ascontiguousarray(((chip.astype(np.float32) - _CHANNEL_MEANS) / 256.0).transpose(2, 0, 1))
        with self._threads.limit(limits=1, user_api="blas"):  # one core a face: more threads cost more than they save
            conv, scale = self._stem
            x = _max_pool(np.maximum(_scaled(_convolve(x, conv), scale), 0.0), size=3, stride=2)
            for block in self._blocks:
                inner = np.maximum(_scaled(_convolve(x, block.first), block.first_scale), 0.0)
                out = _scaled(_convolve(inner, block.second), block.second_scale)
                shortcut = _average_pool(x, size=2, stride=2) if block.halves else x
                x = np.maximum(_padded_sum(out, shortcut), 0.0)
            features: Tensor = x.mean(axis=(1, 2))
            embedding: npt.NDArray[np.float64] = (features @ self._fc).astype(np.float64)
            return embedding


def _convolve(x: Tensor, conv: _Conv) -> Tensor:
    """Cross-correlation (as dlib's con_) by one matrix product over the picture's patches."""
    if conv.padding:
        pad = conv.padding
        x = np.pad(x, ((0, 0), (pad, pad), (pad, pad)))
    size, stride = conv.size, conv.stride
    patches = sliding_window_view(x, (size, size), axis=(1, 2))[:, ::stride, ::stride]
    channels, rows, columns = patches.shape[:3]
    columns_matrix = np.ascontiguousarray(patches.transpose(0, 3, 4, 1, 2)).reshape(channels * size * size, -1)
    out = conv.weights @ columns_matrix
    out += conv.bias
    return out.reshape(-1, rows, columns)


def _scaled(x: Tensor, scale: tuple[Tensor, Tensor]) -> Tensor:
    """dlib's affine_ layer (a batch norm frozen into a scale and a shift per channel)."""
    gamma, beta = scale
    x *= gamma
    x += beta
    return x


def _windows(x: Tensor, size: int, stride: int) -> list[Tensor]:
    channels, height, width = x.shape
    rows, columns = (height - size) // stride + 1, (width - size) // stride + 1
    return [
        x[:, a : a + stride * (rows - 1) + 1 : stride, b : b + stride * (columns - 1) + 1 : stride]
        for a in range(size)
        for b in range(size)
    ]


def _max_pool(x: Tensor, size: int, stride: int) -> Tensor:
    first, *others = _windows(x, size, stride)
    out = first.copy()
    for window in others:
        np.maximum(out, window, out=out)
    return out


def _average_pool(x: Tensor, size: int, stride: int) -> Tensor:
    first, *others = _windows(x, size, stride)
    out = first.copy()
    for window in others:
        out += window
    out /= size * size
    return out


def _padded_sum(a: Tensor, b: Tensor) -> Tensor:
    """dlib's add_prev_: the sum over the larger of each dimension, a tensor missing there counting as zero (a
    block that halves the picture adds 32 channels to 64, and a 4×4 shortcut to a 3×3 block)."""
    if a.shape == b.shape:
        return a + b
    out = np.zeros(tuple(max(m, n) for m, n in zip(a.shape, b.shape, strict=True)), dtype=np.float32)
    out[: a.shape[0], : a.shape[1], : a.shape[2]] += a
    out[: b.shape[0], : b.shape[1], : b.shape[2]] += b
    return out
