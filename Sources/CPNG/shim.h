#ifndef CPNG_SHIM_H
#define CPNG_SHIM_H
/*
 * libpng and zlib for SRIO.
 *
 * libpng reports errors with longjmp. A longjmp must never cross Swift frames, so the whole
 * decode runs inside one C function below (`cpng_decode_rgb8`), which owns the setjmp point and
 * every libpng callback; Swift only sees a return code and a message. The function is
 * `static inline` in this header, so the system-library module needs no compiled C target.
 *
 * Transforms follow OpenCV's `imread(..., IMREAD_COLOR)` (the official SR evaluation reads images
 * that way): palette -> RGB, gray (1/2/4/8 bit) -> 3 equal channels, alpha and tRNS dropped (not
 * composited), 16-bit samples -> their high byte (png_set_strip_16), gAMA/sRGB/iCCP ignored.
 */
#include <png.h>
#include <zlib.h>
#include <setjmp.h>
#include <stdlib.h>
#include <string.h>

typedef struct {
    unsigned int width;
    unsigned int height;
    int bit_depth;     /* as declared in IHDR */
    int color_type;    /* as declared in IHDR */
    unsigned char *pixels; /* width*height*3 bytes, RGB interleaved; free with cpng_free */
    char message[256];
} cpng_decoded;

typedef struct {
    const unsigned char *data;
    size_t size;
    size_t pos;
    cpng_decoded *out;
} cpng_source;

static void cpng_error_fn(png_structp png, png_const_charp msg) {
    cpng_source *src = (cpng_source *)png_get_error_ptr(png);
    if (src && src->out) {
        strncpy(src->out->message, msg ? msg : "libpng error", sizeof(src->out->message) - 1);
        src->out->message[sizeof(src->out->message) - 1] = 0;
    }
    png_longjmp(png, 1);
}

static void cpng_warning_fn(png_structp png, png_const_charp msg) { (void)png; (void)msg; }

static void cpng_read_fn(png_structp png, png_bytep dst, png_size_t n) {
    cpng_source *src = (cpng_source *)png_get_io_ptr(png);
    if (n > src->size - src->pos) {
        png_error(png, "file is truncated (read past the end of the data)");
    }
    memcpy(dst, src->data + src->pos, n);
    src->pos += n;
}

/* Returns 0 on success, non-zero with out->message set on failure. Refuses images with more
   than max_pixels pixels before allocating anything for them. */
static inline int cpng_decode_rgb8(const unsigned char *data, size_t size, size_t max_pixels,
                                   cpng_decoded *out) {
    memset(out, 0, sizeof(*out));
    if (size < 8 || png_sig_cmp((png_const_bytep)data, 0, 8) != 0) {
        strcpy(out->message, "not a PNG file (bad signature)");
        return 1;
    }
    cpng_source src = { data, size, 0, out };
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, &src, cpng_error_fn, cpng_warning_fn);
    if (!png) { strcpy(out->message, "png_create_read_struct failed"); return 1; }
    png_infop info = png_create_info_struct(png);
    if (!info) { png_destroy_read_struct(&png, NULL, NULL); strcpy(out->message, "png_create_info_struct failed"); return 1; }
    unsigned char *volatile pixels = NULL;
    png_bytep *volatile rows = NULL;
    if (setjmp(png_jmpbuf(png))) {
        free(rows);
        free(pixels);
        png_destroy_read_struct(&png, &info, NULL);
        if (out->message[0] == 0) strcpy(out->message, "libpng error");
        out->pixels = NULL;
        return 1;
    }
    png_set_read_fn(png, &src, cpng_read_fn);
    png_set_user_limits(png, 1000000, 1000000);
    png_read_info(png, info);
    png_uint_32 w = png_get_image_width(png, info), h = png_get_image_height(png, info);
    out->width = w; out->height = h;
    out->bit_depth = png_get_bit_depth(png, info);
    out->color_type = png_get_color_type(png, info);
    if (w == 0 || h == 0 || (size_t)w > max_pixels / (size_t)h) {
        snprintf(out->message, sizeof(out->message),
                 "declared dimensions %ux%u exceed the limit of %zu pixels", (unsigned)w, (unsigned)h, max_pixels);
        png_destroy_read_struct(&png, &info, NULL);
        return 1;
    }
    int ct = out->color_type;
    if (out->bit_depth == 16) png_set_strip_16(png);
    if (ct == PNG_COLOR_TYPE_PALETTE) png_set_palette_to_rgb(png);
    if (ct == PNG_COLOR_TYPE_GRAY && out->bit_depth < 8) png_set_expand_gray_1_2_4_to_8(png);
    if (ct == PNG_COLOR_TYPE_GRAY || ct == PNG_COLOR_TYPE_GRAY_ALPHA) png_set_gray_to_rgb(png);
    if (png_get_valid(png, info, PNG_INFO_tRNS)) png_set_tRNS_to_alpha(png);
    png_set_strip_alpha(png);
    png_set_interlace_handling(png);
    png_read_update_info(png, info);
    if (png_get_rowbytes(png, info) != (size_t)w * 3) {
        snprintf(out->message, sizeof(out->message), "unexpected row size after conversion to RGB8");
        png_destroy_read_struct(&png, &info, NULL);
        return 1;
    }
    pixels = (unsigned char *)malloc((size_t)w * (size_t)h * 3);
    rows = (png_bytep *)malloc(sizeof(png_bytep) * (size_t)h);
    if (!pixels || !rows) {
        free(rows); free(pixels);
        png_destroy_read_struct(&png, &info, NULL);
        strcpy(out->message, "out of memory");
        return 1;
    }
    for (png_uint_32 y = 0; y < h; y++) rows[y] = pixels + (size_t)y * w * 3;
    png_read_image(png, rows);
    png_read_end(png, NULL);
    free(rows);
    png_destroy_read_struct(&png, &info, NULL);
    out->pixels = pixels;
    return 0;
}

static inline void cpng_free(cpng_decoded *d) {
    free(d->pixels);
    d->pixels = NULL;
}

#endif
