/*
 * Target features, the one macro family every kernel tests (internal).
 *
 *   EF_NN_USE_MVE  Helium (MVE integer, __ARM_FEATURE_MVE bit 0): Cortex-M55. Kernels take their
 *                  MVE body.
 *   EF_NN_USE_DSP  DSP extension (__ARM_FEATURE_DSP) on a core without MVE: Cortex-M4/M7/M33.
 *                  Kernels take their SMLAD/SXTB16 body.
 *   neither        the portable C99 body (host builds, cores without DSP).
 *
 * At most one of the two is defined: a kernel is written `#if defined(EF_NN_USE_MVE) ... #elif
 * defined(EF_NN_USE_DSP) ... #endif` followed by (or falling back to) its portable body.
 * -DEF_NN_PORTABLE forces the portable bodies on any core (the tests compare the paths that way).
 */
#ifndef EF_NN_TARGET_H
#define EF_NN_TARGET_H

#if !defined(EF_NN_PORTABLE) && defined(__ARM_FEATURE_MVE) && (__ARM_FEATURE_MVE & 1)
#define EF_NN_USE_MVE 1
#include <arm_mve.h>
#elif !defined(EF_NN_PORTABLE) && defined(__ARM_FEATURE_DSP)
#define EF_NN_USE_DSP 1
#include <arm_acle.h>
#include <string.h>
#endif

#endif /* EF_NN_TARGET_H */
