/* act.c — elementwise passes: the residual add, and the activations: SiLU (mLSTM / sLSTM conv and gate) and the gated-FFN
 * activations of the official registry (gelu, relu, relu^2, sigmoid, swish, selu); the soft cap
 * of xLSTM Large. */
#include "ops.h"
#include "tuning.h"

/* PyTorch's SELU constants */
static const real SELU_ALPHA = (real)1.6732632423543772848170429916717;
static const real SELU_SCALE = (real)1.0507009873554804934193349852946;
static const real INV_SQRT2 = (real)0.70710678118654752440;
static const real INV_SQRT_2PI = (real)0.39894228040143267794;

void silu_forward(real *y, const real *x, size_t n)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN_ELEMS)
    for (size_t i = 0; i < n; i++) y[i] = silu_r(x[i]);
}

void silu_backward(real *dx, const real *dy, const real *x, size_t n)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN_ELEMS)
    for (size_t i = 0; i < n; i++) dx[i] += dy[i] * silu_grad_r(x[i]);
}

/* Exact GeLU x * Phi(x) (torch's default, not the tanh approximation). */
static inline real gelu_r(real x) { return x * (real)0.5 * (1 + erf(x * INV_SQRT2)); }
/* d/dx x Phi(x) = Phi(x) + x phi(x) */
static inline real gelu_grad_r(real x)
{
    return (real)0.5 * (1 + erf(x * INV_SQRT2)) + x * INV_SQRT_2PI * exp((real)-0.5 * x * x);
}

/* An act outside the enum gives NaN, so that a missed config check cannot pass silently. */
static inline real act_r(int act, real x)
{
    switch (act) {
    case XLSTM_ACT_GELU: return gelu_r(x);
    case XLSTM_ACT_RELU: return x > 0 ? x : 0;
    case XLSTM_ACT_RELU2: return x > 0 ? x * x : 0;
    case XLSTM_ACT_SIGMOID: return sigmoid_r(x);
    case XLSTM_ACT_SWISH: return silu_r(x);
    case XLSTM_ACT_SELU: return SELU_SCALE * (x > 0 ? x : SELU_ALPHA * expm1(x));
    default: return NAN;
    }
}

static inline real act_grad_r(int act, real x)
{
    switch (act) {
    case XLSTM_ACT_GELU: return gelu_grad_r(x);
    case XLSTM_ACT_RELU: return x > 0 ? 1 : 0;
    case XLSTM_ACT_RELU2: return x > 0 ? 2 * x : 0;
    case XLSTM_ACT_SIGMOID: {
        real s = sigmoid_r(x);
        return s * (1 - s);
    }
    case XLSTM_ACT_SWISH: return silu_grad_r(x);
    case XLSTM_ACT_SELU: return SELU_SCALE * (x > 0 ? 1 : SELU_ALPHA * exp(x));
    default: return NAN;
    }
}

void act_forward(int act, real *y, const real *x, size_t n)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN_ELEMS)
    for (size_t i = 0; i < n; i++) y[i] = act_r(act, x[i]);
}

void act_backward(int act, real *dx, const real *dy, const real *x, size_t n)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN_ELEMS)
    for (size_t i = 0; i < n; i++) dx[i] += dy[i] * act_grad_r(act, x[i]);
}

/* The gated FFN's middle: a = act(gate), y = a * up (a is kept for the backward). */
void act_gate_forward(int act, real *a, real *y, const real *gate, const real *up, size_t n)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN_ELEMS)
    for (size_t i = 0; i < n; i++) {
        a[i] = act_r(act, gate[i]);
        y[i] = a[i] * up[i];
    }
}

void act_gate_backward(int act, real *dgate, real *dup, const real *dy, const real *gate, const real *up,
                       const real *a, size_t n)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN_ELEMS)
    for (size_t i = 0; i < n; i++) {
        dup[i] = dy[i] * a[i];
        dgate[i] = dy[i] * up[i] * act_grad_r(act, gate[i]);
    }
}

void softcap_forward(real *y, const real *x, size_t n, real cap)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN_ELEMS)
    for (size_t i = 0; i < n; i++) y[i] = cap * tanh_r(x[i] / cap);
}

void softcap_backward(real *dx, const real *dy, const real *y, size_t n, real cap)
{
#pragma omp parallel for schedule(static) if (n > PAR_MIN_ELEMS)
    for (size_t i = 0; i < n; i++) {
        real t = y[i] / cap;
        dx[i] = dy[i] * (1 - t * t);
    }
}

void residual_add(real *out, const real *x, const real *y, size_t n)
{
#pragma omp parallel for schedule(static) if (n > RESIDUAL_PAR_MIN)
    for (size_t j = 0; j < n; j++) out[j] = x[j] + y[j];
}
