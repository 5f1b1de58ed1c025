// libpng for Swift. libpng reports errors by longjmp, which Swift cannot survive, so the setjmp
// lives here in `static inline` C and errors come back as a code plus libpng's message; nothing
// prints. Decoding uses the classic API, not the simplified `png_image` one: that treats 16-bit
// samples as linear light and composites alpha onto a background, where we want PIL's
// convert("RGB"): alpha dropped, 16 → 8 bits by plain rounding. Encoding uses the simplified API
// (`png_image_write_to_memory`), which catches libpng's longjmp itself and writes our 8-bit sRGB
// rows as they are. Keeping the wrappers in the header avoids a separate C target (STYLE.md §1).
#ifndef ANOMALY_CLUSTERING_CPNG_SHIM_H
#define ANOMALY_CLUSTERING_CPNG_SHIM_H

#include <png.h>
#include <setjmp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/// Return codes of `acs_png_decode_rgb8` and `acs_png_encode_rgb8`.
enum {
    ACS_PNG_OK = 0,
    /// libpng reported an error; the message says which (e.g. "IDAT: CRC error").
    ACS_PNG_ERROR = 1,
    /// The data ended before libpng had read what it needed.
    ACS_PNG_TRUNCATED = 2,
    /// Decode: the IHDR size differs from the caller's, or the transformed rows are not 8-bit RGB.
    /// Encode: a zero side or a size past `acs_png_encoded_size_bound`'s, or too small an output buffer.
    ACS_PNG_LAYOUT_MISMATCH = 3,
    /// A buffer could not be allocated.
    ACS_PNG_OUT_OF_MEMORY = 4,
};

/// Where libpng reads from and where the error message goes; reached through libpng's io/error pointers.
typedef struct {
    const unsigned char *data;
    size_t size;
    size_t offset;
    int truncated;
    char *message;
    size_t message_capacity;
} acs_png_context;

static inline void acs_png_set_message(acs_png_context *context, const char *text) {
    if (context->message_capacity > 0) {
        snprintf(context->message, context->message_capacity, "%s", text);
    }
}

/// libpng error callback: keep the message, then leave through the setjmp in `acs_png_read_into`.
static void acs_png_on_error(png_structp png, png_const_charp text) {
    acs_png_set_message((acs_png_context *)png_get_error_ptr(png), text);
    png_longjmp(png, 1);
}

/// libpng warning callback: warnings (bad ancillary chunks, benign errors) never print.
static void acs_png_on_warning(png_structp png, png_const_charp text) {
    (void)png;
    (void)text;
}

/// libpng read callback over an in-memory buffer; running past the end is a truncation error.
static void acs_png_on_read(png_structp png, png_bytep out, size_t length) {
    acs_png_context *context = (acs_png_context *)png_get_io_ptr(png);
    if (length > context->size - context->offset) {
        context->truncated = 1;
        png_error(png, "unexpected end of PNG data");
    }
    memcpy(out, context->data + context->offset, length);
    context->offset += length;
}

/// The part of the decode that can longjmp. It takes everything by pointer and keeps no local
/// state across `setjmp`, so nothing it holds is indeterminate after a jump.
static inline int acs_png_read_into(png_structp png, png_infop info, acs_png_context *context,
                                    png_bytepp rows, uint32_t width, uint32_t height) {
    if (setjmp(png_jmpbuf(png))) {
        return context->truncated ? ACS_PNG_TRUNCATED : ACS_PNG_ERROR;
    }
    png_set_read_fn(png, context, acs_png_on_read);
    // The caller checked the size against its own limits; these keep libpng's allocations bounded too.
    png_set_user_limits(png, width, height);
    png_set_chunk_malloc_max(png, 8000000);
    png_set_chunk_cache_max(png, 1000);
    png_read_info(png, info);

    png_uint_32 file_width = 0, file_height = 0;
    int bit_depth = 0, color_type = 0, interlace = 0;
    png_get_IHDR(png, info, &file_width, &file_height, &bit_depth, &color_type, &interlace, NULL, NULL);
    if (file_width != width || file_height != height) {
        acs_png_set_message(context, "IHDR size differs from the probed size");
        return ACS_PNG_LAYOUT_MISMATCH;
    }
    // Towards 8-bit RGB, as PIL's convert("RGB"): palette → RGB, 1/2/4-bit gray → 8-bit
    // (v·255/(2^d − 1)), 16-bit → 8-bit rounded (round(v·255/65535)), alpha (including tRNS,
    // which palette expansion turns into alpha) dropped without compositing, gray copied to R, G, B.
    if (color_type == PNG_COLOR_TYPE_PALETTE) {
        png_set_palette_to_rgb(png);
    }
    if (color_type == PNG_COLOR_TYPE_GRAY && bit_depth < 8) {
        png_set_expand_gray_1_2_4_to_8(png);
    }
    if (bit_depth == 16) {
        png_set_scale_16(png);
    }
    png_set_strip_alpha(png);
    if (color_type == PNG_COLOR_TYPE_GRAY || color_type == PNG_COLOR_TYPE_GRAY_ALPHA) {
        png_set_gray_to_rgb(png);
    }
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_bit_depth(png, info) != 8 || png_get_channels(png, info) != 3 ||
        png_get_rowbytes(png, info) != (size_t)width * 3) {
        acs_png_set_message(context, "transformed rows are not 8-bit RGB");
        return ACS_PNG_LAYOUT_MISMATCH;
    }
    png_read_image(png, rows);
    // Reads up to IEND, so a file cut after its last IDAT is reported as truncated.
    png_read_end(png, NULL);
    return ACS_PNG_OK;
}

/// Decodes a whole PNG held in memory into `out`: `height` rows of `width` × 3 bytes (R, G, B).
///
/// `width` and `height` are the IHDR values the caller already read and checked against its limits;
/// a file whose IHDR disagrees is refused. `out_size` must be width × height × 3. On failure returns
/// a nonzero `ACS_PNG_*` code and writes a NUL-terminated message into `message`.
static inline int acs_png_decode_rgb8(const unsigned char *data, size_t size, uint32_t width,
                                      uint32_t height, unsigned char *out, size_t out_size,
                                      char *message, size_t message_capacity) {
    acs_png_context context = {data, size, 0, 0, message, message_capacity};
    if (width == 0 || height == 0 || out_size / 3 / width != height || out_size % ((size_t)width * 3) != 0) {
        acs_png_set_message(&context, "output buffer does not match the image size");
        return ACS_PNG_LAYOUT_MISMATCH;
    }
    png_bytepp rows = (png_bytepp)malloc(sizeof(png_bytep) * height);
    if (rows == NULL) {
        acs_png_set_message(&context, "out of memory for row pointers");
        return ACS_PNG_OUT_OF_MEMORY;
    }
    for (uint32_t y = 0; y < height; y++) {
        rows[y] = out + (size_t)y * width * 3;
    }
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &context, acs_png_on_error,
                                             acs_png_on_warning);
    png_infop info = png != NULL ? png_create_info_struct(png) : NULL;
    int code;
    if (png == NULL || info == NULL) {
        acs_png_set_message(&context, "out of memory for libpng structures");
        code = ACS_PNG_OUT_OF_MEMORY;
    } else {
        code = acs_png_read_into(png, info, &context, rows, width, height);
    }
    png_destroy_read_struct(png != NULL ? &png : NULL, info != NULL ? &info : NULL, NULL);
    free(rows);
    return code;
}

/// Bytes that always suffice for `acs_png_encode_rgb8`'s output: libpng's PNG_IMAGE_PNG_SIZE_MAX
/// (the filtered rows, zlib's worst-case overhead and every chunk the simplified API writes).
/// Returns 0 for a zero side or an image whose filtered rows, (width × 3 + 1) × height bytes, reach
/// 2^31: the macro multiplies those in 32 bits, so this bound keeps it from wrapping.
static inline size_t acs_png_encoded_size_bound(uint32_t width, uint32_t height) {
    if (width == 0 || height == 0 || ((uint64_t)width * 3 + 1) * height >= (1ULL << 31)) {
        return 0;
    }
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    image.format = PNG_FORMAT_RGB;
    return (size_t)PNG_IMAGE_PNG_SIZE_MAX(image);
}

/// Encodes `height` rows of `width` × 3 bytes (R, G, B, 8-bit sRGB, top row first) as a PNG.
///
/// Two calls, and one compression: the caller sizes `out` with `acs_png_encoded_size_bound` (cheap
/// arithmetic), then this writes into it and sets `*out_size` to the bytes written. (libpng's own
/// size query, `memory == NULL`, would compress the image twice.) On failure returns a nonzero
/// `ACS_PNG_*` code and writes a NUL-terminated message into `message`.
static inline int acs_png_encode_rgb8(const unsigned char *pixels, uint32_t width, uint32_t height,
                                      unsigned char *out, size_t *out_size,
                                      char *message, size_t message_capacity) {
    acs_png_context context = {NULL, 0, 0, 0, message, message_capacity};
    size_t capacity = *out_size;
    *out_size = 0;
    if (acs_png_encoded_size_bound(width, height) == 0) {
        acs_png_set_message(&context, "image size is zero or too large for PNG");
        return ACS_PNG_LAYOUT_MISMATCH;
    }
    png_image image;
    memset(&image, 0, sizeof image);
    image.version = PNG_IMAGE_VERSION;
    image.width = width;
    image.height = height;
    image.format = PNG_FORMAT_RGB;
    png_alloc_size_t written = capacity;
    // Row stride 0: libpng uses width × 3, rows packed. The simplified API frees its own state
    // when it returns; png_image_free below is a no-op then and only guards against a leak.
    int ok = png_image_write_to_memory(&image, out, &written, 0, pixels, 0, NULL);
    int code = ACS_PNG_OK;
    if (!ok) {
        if (written > capacity) {
            acs_png_set_message(&context, "output buffer too small for the PNG");
            code = ACS_PNG_LAYOUT_MISMATCH;
        } else {
            acs_png_set_message(&context, image.message[0] != 0 ? image.message : "png_image_write_to_memory failed");
            code = ACS_PNG_ERROR;
        }
    } else {
        *out_size = written;
    }
    png_image_free(&image);
    return code;
}

#endif
