// OpenBLAS's CBLAS interface (Debian: libopenblas-dev puts cblas.h on the default include path).
#ifndef ANOMALY_CLUSTERING_CBLAS_SHIM_H
#define ANOMALY_CLUSTERING_CBLAS_SHIM_H
#include <cblas.h>
#endif
