"""preprocess.to_16x16 against independent numpy implementations of both resize modes and against
jax.image.resize, and its bytes."""

import hashlib

import jax
import jax.numpy as jnp
import numpy as np
import pytest

from lecun1989.data import preprocessing as preprocess

IN, OUT = 28, 16


def digits(n=6, seed=0):
    """uint8 28x28 images: random noise, plus hard cases (a single bright pixel, a bright border,
    constant images) so that edge weights and normalisation are exercised."""
    rng = np.random.default_rng(seed)
    images = rng.integers(0, 256, (n, IN, IN), dtype=np.uint8)
    images[0] = 0
    images[0, 13, 14] = 255
    images[1] = 0
    images[1, [0, -1], :] = 255
    images[1, :, [0, -1]] = 255
    images[2] = 255
    images[3] = 0
    return images


def to_pm1(images):
    return images.astype(np.float64) / 127.5 - 1.0


def bilinear_matrix_half_pixel(n_in, n_out):
    """torch F.interpolate(mode='bilinear', align_corners=False) along one axis: output j samples
    input coordinate (j + 0.5) * n_in / n_out - 0.5 (clamped at 0), between its two neighbours."""
    m = np.zeros((n_out, n_in))
    for j in range(n_out):
        src = max((j + 0.5) * n_in / n_out - 0.5, 0.0)
        i0 = int(np.floor(src))
        i1 = min(i0 + 1, n_in - 1)
        lam = src - i0
        m[j, i0] += 1 - lam
        m[j, i1] += lam
    return m


def triangle_matrix_antialiased(n_in, n_out):
    """Anti-aliased bilinear (PIL / TF / jax.image style) when shrinking: a triangle filter whose
    support is widened by n_in / n_out, centred at the same half-pixel coordinate, weights
    normalised to sum to one."""
    scale = n_out / n_in
    m = np.zeros((n_out, n_in))
    for j in range(n_out):
        centre = (j + 0.5) / scale - 0.5
        for i in range(n_in):
            m[j, i] = max(0.0, 1.0 - abs(i - centre) * scale)
        m[j] /= m[j].sum()
    return m


def separable(images, m):
    return np.einsum("ai,nij,bj->nab", m, images, m)


def test_reference_matrices_are_what_they_claim():
    plain = bilinear_matrix_half_pixel(IN, OUT)
    wide = triangle_matrix_antialiased(IN, OUT)
    np.testing.assert_allclose(plain.sum(1), 1)
    np.testing.assert_allclose(wide.sum(1), 1)
    # 28 -> 16: output 0 samples input 0.375, so 0.625 * in[0] + 0.375 * in[1]
    np.testing.assert_allclose(plain[0, :2], [0.625, 0.375])
    assert (plain > 0).sum(1).max() == 2  # plain bilinear reads two inputs per output
    assert (wide > 0).sum(1).min() >= 3  # the widened triangle reads more (28/16 * 2 = 3.5 wide)


@pytest.mark.parametrize("antialias", [False, True])
def test_to_16x16_matches_independent_resize(antialias):
    images = digits()
    m = triangle_matrix_antialiased(IN, OUT) if antialias else bilinear_matrix_half_pixel(IN, OUT)
    expected = np.clip(separable(to_pm1(images), m), -1, 1)
    got = preprocess.to_16x16(images, antialias=antialias)
    assert got.dtype == np.float32 and got.shape == (len(images), OUT, OUT)
    np.testing.assert_allclose(got, expected, atol=2e-6, rtol=0)
    # the two modes really differ (the anchors' warning): not a test that passes either way
    other = triangle_matrix_antialiased(IN, OUT) if not antialias else bilinear_matrix_half_pixel(IN, OUT)
    assert np.abs(got - separable(to_pm1(images), other)).max() > 0.05


def test_to_16x16_range_and_constants():
    got = preprocess.to_16x16(digits(), antialias=True)
    assert got.min() >= -1 and got.max() <= 1
    # constant images stay constant (to float32 rounding of the weights' sum)
    np.testing.assert_allclose(got[2], 1.0, atol=3e-7, rtol=0)
    np.testing.assert_allclose(got[3], -1.0, atol=3e-7, rtol=0)


def test_to_16x16_antialias_equals_the_seed_notebook_per_image_resize():
    """The seed: xi = jnp.array(I, float32) / 127.5 - 1.0; jax.image.resize(xi, (16, 16), "bilinear")."""
    images = digits(8, seed=1)
    seed = np.stack(
        [np.asarray(jax.image.resize(jnp.array(image, dtype=jnp.float32) / 127.5 - 1.0, (16, 16), "bilinear")) for image in images]
    )
    got = preprocess.to_16x16(images, antialias=True)
    np.testing.assert_allclose(got, np.clip(seed, -1, 1), atol=1e-6, rtol=0)


@pytest.mark.parametrize("antialias", [False, True])
def test_to_16x16_equals_jax_image_resize(antialias):
    """The written-out float64 taps against the library resize they replace (float32, XLA's dots)."""
    images = digits(40, seed=2)
    x = jnp.asarray(images, jnp.float32) / 127.5 - 1.0
    theirs = np.clip(np.asarray(jax.image.resize(x, (len(images), OUT, OUT), "bilinear", antialias=antialias)), -1, 1)
    np.testing.assert_allclose(preprocess.to_16x16(images, antialias=antialias), theirs, atol=1e-6, rtol=0)


def test_resize_taps_are_the_reference_matrices():
    for antialias, reference in ((True, triangle_matrix_antialiased), (False, bilinear_matrix_half_pixel)):
        m = np.zeros((OUT, IN))
        for j, pairs in enumerate(preprocess.resize_taps(IN, OUT, antialias)):
            for i, w in pairs:
                m[j, i] = w
        np.testing.assert_allclose(m, reference(IN, OUT), atol=1e-15, rtol=0)


def test_to_16x16_pixels_do_not_depend_on_the_chunk(monkeypatch):
    images = digits(9, seed=3)
    whole = preprocess.to_16x16(images, antialias=True)
    monkeypatch.setattr(preprocess, "CHUNK", 4)
    assert preprocess.to_16x16(images, antialias=True).tobytes() == whole.tobytes()


# Written on an Intel Xeon with AVX-512; every machine must compute these bytes (the pixels are a fixed
# sequence of IEEE-754 operations). A deliberate change to the resize changes them here too.
DIGESTS = {
    False: "c4de66561cb9cceaf44c122094b47197bbb26e5d0c53d56bea03bf51f6253447",
    True: "f233017b9319dd4b524762e61c7ea9fb72067e61e147037f30e05f7508666c55",
}


@pytest.mark.parametrize("antialias", [False, True])
def test_to_16x16_bytes_are_the_same_on_every_machine(antialias):
    assert hashlib.sha256(preprocess.to_16x16(digits(40, seed=2), antialias).tobytes()).hexdigest() == DIGESTS[antialias]
