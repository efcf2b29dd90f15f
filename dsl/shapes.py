"""The one home for convolution and pooling shape arithmetic (TF/Keras rules)."""

from __future__ import annotations


def effective_kernel(kernel: int, dilation: int = 1) -> int:
    """Span of a dilated kernel: (k - 1) * d + 1."""
    return (kernel - 1) * dilation + 1


def output_length(length: int, kernel: int, stride: int, padding: str, dilation: int = 1) -> int:
    """Output length along one axis; `same` gives ceil(n / s), `valid` floor((n - k) / s) + 1."""
    if padding == "same":
        return -(-length // stride)
    return (length - effective_kernel(kernel, dilation)) // stride + 1


def same_padding(length: int, kernel: int, stride: int, dilation: int = 1) -> tuple[int, int]:
    """TF `SAME` padding (before, after): the odd extra cell goes after (bottom/right)."""
    out = -(-length // stride)
    total = max((out - 1) * stride + effective_kernel(kernel, dilation) - length, 0)
    return total // 2, total - total // 2


def window_padding(
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: str,
    dilation: tuple[int, ...] | None = None,
) -> tuple[tuple[int, int], ...]:
    """Per-axis (before, after) padding a window op applies to its input."""
    dilation = dilation or (1,) * len(kernel)
    if padding == "valid":
        return tuple((0, 0) for _ in kernel)
    return tuple(same_padding(n, k, s, d) for n, k, s, d in zip(spatial, kernel, stride, dilation))


def window_output(
    spatial: tuple[int, ...],
    kernel: tuple[int, ...],
    stride: tuple[int, ...],
    padding: str,
    dilation: tuple[int, ...] | None = None,
) -> tuple[int, ...]:
    """Output spatial shape of a conv or pool window op."""
    dilation = dilation or (1,) * len(kernel)
    return tuple(
        output_length(n, k, s, padding, d) for n, k, s, d in zip(spatial, kernel, stride, dilation)
    )


def transpose_output(length: int, kernel: int, stride: int, padding: str) -> tuple[int, int, int]:
    """A transposed convolution along one axis: (output length, crop before, crop after).

    The full result has (n - 1)·s + k cells. Keras keeps n·s + max(k - s, 0) of them for
    `valid` and n·s for `same`, cropping as the same-padded forward conv would pad (the odd
    cell at the end); a negative crop after means zeros appended (when k < s).
    """
    full = (length - 1) * stride + kernel
    if padding == "same":
        out = length * stride
        before = max(kernel - stride, 0) // 2
    else:
        out = length * stride + max(kernel - stride, 0)
        before = 0
    return out, before, full - out - before
