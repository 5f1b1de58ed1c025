// libjpeg(-turbo) for Swift. libjpeg's default error handler prints to stderr and calls exit(), so
// this shim installs its own: errors longjmp back to a setjmp in `static inline` C and come out as a
// return code plus libjpeg's message, and warnings and trace messages are never printed. Decoding
// keeps libjpeg's defaults (ISLOW DCT, fancy upsampling) because those are what PIL decodes with.
#ifndef ANOMALY_CLUSTERING_CJPEG_SHIM_H
#define ANOMALY_CLUSTERING_CJPEG_SHIM_H

#include <stddef.h>
#include <stdio.h>
#include <setjmp.h>
#include <stdint.h>
#include <string.h>
#include <jpeglib.h>
#include <jerror.h>

/// Return codes of `acs_jpeg_decode_rgb8`.
enum {
    ACS_JPEG_OK = 0,
    /// libjpeg reported an error; the message says which.
    ACS_JPEG_ERROR = 1,
    /// The data ended before the end-of-image marker (libjpeg's "premature end" warning).
    ACS_JPEG_TRUNCATED = 2,
    /// The header size differs from the caller's, or the output is not 3-channel.
    ACS_JPEG_LAYOUT_MISMATCH = 3,
    /// CMYK or YCCK colour space.
    ACS_JPEG_CMYK = 4,
    /// More scans than `ACS_JPEG_MAX_SCANS` (a progressive file can repeat scans to burn CPU).
    ACS_JPEG_TOO_MANY_SCANS = 5,
};

/// Progressive files made by real encoders have about ten scans; libjpeg-turbo's TurboJPEG API
/// offers the same kind of scan limit against files that repeat scans without end.
#define ACS_JPEG_MAX_SCANS 500

/// libjpeg's error manager extended with where to jump and where to put the message.
typedef struct {
    struct jpeg_error_mgr base; // must be first: libjpeg only knows this part
    jmp_buf jump;
    int code;
    char *message;
    size_t message_capacity;
} acs_jpeg_error_manager;

/// A progress monitor whose only job is the scan limit.
typedef struct {
    struct jpeg_progress_mgr base; // must be first
    int max_scans;
} acs_jpeg_scan_limit;

static inline void acs_jpeg_fail(j_common_ptr cinfo, int code) {
    acs_jpeg_error_manager *manager = (acs_jpeg_error_manager *)cinfo->err;
    char text[JMSG_LENGTH_MAX];
    (*cinfo->err->format_message)(cinfo, text);
    if (manager->message_capacity > 0) {
        snprintf(manager->message, manager->message_capacity, "%s", text);
    }
    manager->code = code;
    longjmp(manager->jump, 1);
}

/// Replaces libjpeg's error_exit (print, then exit()).
static void acs_jpeg_on_error(j_common_ptr cinfo) {
    acs_jpeg_fail(cinfo, ACS_JPEG_ERROR);
}

/// Replaces emit_message. Running out of data is only a warning to libjpeg (it pads with an EOI
/// and shows grey); we refuse such files, as PIL does. Other warnings, such as extraneous bytes
/// before a marker, are ignored as PIL ignores them; nothing is printed.
static void acs_jpeg_on_message(j_common_ptr cinfo, int level) {
    if (level < 0 && cinfo->err->msg_code == JWRN_JPEG_EOF) {
        acs_jpeg_fail(cinfo, ACS_JPEG_TRUNCATED);
    }
}

static void acs_jpeg_on_output(j_common_ptr cinfo) {
    (void)cinfo;
}

static void acs_jpeg_on_progress(j_common_ptr cinfo) {
    acs_jpeg_scan_limit *limit = (acs_jpeg_scan_limit *)cinfo->progress;
    if (cinfo->is_decompressor && ((j_decompress_ptr)cinfo)->input_scan_number > limit->max_scans) {
        acs_jpeg_error_manager *manager = (acs_jpeg_error_manager *)cinfo->err;
        if (manager->message_capacity > 0) {
            snprintf(manager->message, manager->message_capacity, "more than %d scans", limit->max_scans);
        }
        manager->code = ACS_JPEG_TOO_MANY_SCANS;
        longjmp(manager->jump, 1);
    }
}

/// The part of the decode that can longjmp. It takes everything by pointer and keeps no local
/// state across `setjmp`, so nothing it holds is indeterminate after a jump.
static inline int acs_jpeg_read_into(j_decompress_ptr cinfo, acs_jpeg_error_manager *manager,
                                     acs_jpeg_scan_limit *limit, const unsigned char *data,
                                     size_t size, uint32_t width, uint32_t height, unsigned char *out) {
    if (setjmp(manager->jump)) {
        return manager->code;
    }
    jpeg_create_decompress(cinfo);
    cinfo->progress = &limit->base;
    jpeg_mem_src(cinfo, data, (unsigned long)size);
    jpeg_read_header(cinfo, TRUE);
    if (cinfo->image_width != width || cinfo->image_height != height) {
        snprintf(manager->message, manager->message_capacity, "frame header size differs from the probed size");
        return ACS_JPEG_LAYOUT_MISMATCH;
    }
    if (cinfo->jpeg_color_space == JCS_CMYK || cinfo->jpeg_color_space == JCS_YCCK) {
        snprintf(manager->message, manager->message_capacity, "CMYK JPEG is not supported");
        return ACS_JPEG_CMYK;
    }
    // Grayscale, YCbCr and RGB files all come out as RGB (gray is copied to R, G and B).
    cinfo->out_color_space = JCS_RGB;
    cinfo->dct_method = JDCT_ISLOW;
    cinfo->do_fancy_upsampling = TRUE;
    jpeg_start_decompress(cinfo);
    if (cinfo->output_components != 3 || cinfo->output_width != width || cinfo->output_height != height) {
        snprintf(manager->message, manager->message_capacity, "decoder output is not %ux%u RGB",
                 (unsigned)width, (unsigned)height);
        return ACS_JPEG_LAYOUT_MISMATCH;
    }
    while (cinfo->output_scanline < cinfo->output_height) {
        JSAMPROW row = out + (size_t)cinfo->output_scanline * width * 3;
        jpeg_read_scanlines(cinfo, &row, 1);
    }
    // Reads up to EOI, so a file cut inside its last scan is reported as truncated.
    jpeg_finish_decompress(cinfo);
    return ACS_JPEG_OK;
}

/// Decodes a whole JPEG held in memory into `out`: `height` rows of `width` × 3 bytes (R, G, B).
///
/// `width` and `height` are the frame-header values the caller already read and checked against
/// its limits; a file that disagrees is refused. `out_size` must be width × height × 3. On failure
/// returns a nonzero `ACS_JPEG_*` code and writes a NUL-terminated message into `message`.
static inline int acs_jpeg_decode_rgb8(const unsigned char *data, size_t size, uint32_t width,
                                       uint32_t height, unsigned char *out, size_t out_size,
                                       char *message, size_t message_capacity) {
    if (message_capacity > 0) {
        message[0] = 0;
    }
    if (width == 0 || height == 0 || out_size / 3 / width != height || out_size % ((size_t)width * 3) != 0) {
        snprintf(message, message_capacity, "output buffer does not match the image size");
        return ACS_JPEG_LAYOUT_MISMATCH;
    }
    struct jpeg_decompress_struct cinfo;
    acs_jpeg_error_manager manager;
    acs_jpeg_scan_limit limit;
    memset(&cinfo, 0, sizeof cinfo);
    memset(&manager, 0, sizeof manager);
    memset(&limit, 0, sizeof limit);
    cinfo.err = jpeg_std_error(&manager.base);
    manager.base.error_exit = acs_jpeg_on_error;
    manager.base.emit_message = acs_jpeg_on_message;
    manager.base.output_message = acs_jpeg_on_output;
    manager.message = message;
    manager.message_capacity = message_capacity;
    limit.base.progress_monitor = acs_jpeg_on_progress;
    limit.max_scans = ACS_JPEG_MAX_SCANS;
    int code = acs_jpeg_read_into(&cinfo, &manager, &limit, data, size, width, height, out);
    // Safe after a longjmp and after a failed jpeg_create_decompress (it checks cinfo.mem).
    jpeg_destroy_decompress(&cinfo);
    return code;
}

#endif
