// Baseline for the camera preview benchmark: what a preview server pays per frame when it does not pass a camera's
// MJPEG through — decode each JPEG of a recorded stream and encode it again (libjpeg-turbo, quality 80, 4:2:0,
// fast DCT, like Tongban's own encoder). Paced at the stream's rate; prints the CPU time it used as JSON.
//   reencode_baseline RECORDING.mjpeg FPS SECONDS
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/resource.h>
#include <turbojpeg.h>

static double cpu_seconds(void) {
    struct rusage usage;
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec + usage.ru_stime.tv_usec / 1e6;
}

int main(int argc, char **argv) {
    if (argc != 4) { fprintf(stderr, "usage: %s RECORDING.mjpeg FPS SECONDS\n", argv[0]); return 2; }
    FILE *file = fopen(argv[1], "rb");
    if (!file) { perror(argv[1]); return 1; }
    fseek(file, 0, SEEK_END);
    long size = ftell(file);
    fseek(file, 0, SEEK_SET);
    unsigned char *data = malloc(size);
    if (fread(data, 1, size, file) != (size_t)size) { perror("fread"); return 1; }
    fclose(file);
    // Frames: from each start-of-image marker to the next end-of-image marker (the recording has no thumbnails).
    long starts[1024], ends[1024];
    int frames = 0;
    for (long i = 0; i + 1 < size && frames < 1024; i++) {
        if (data[i] == 0xFF && data[i + 1] == 0xD8) starts[frames] = i;
        if (data[i] == 0xFF && data[i + 1] == 0xD9) { ends[frames] = i + 2; frames++; }
    }
    double fps = atof(argv[2]), seconds = atof(argv[3]);
    tjhandle decoder = tjInitDecompress(), encoder = tjInitCompress();
    unsigned char *pixels = NULL;
    long frame_count = (long)(fps * seconds);
    struct timespec next;
    clock_gettime(CLOCK_MONOTONIC, &next);
    double before = cpu_seconds();
    for (long n = 0; n < frame_count; n++) {
        int index = n % frames, width, height, subsampling, colourspace;
        unsigned long jpeg_size = ends[index] - starts[index];
        tjDecompressHeader3(decoder, data + starts[index], jpeg_size, &width, &height, &subsampling, &colourspace);
        if (!pixels) pixels = malloc((size_t)width * height * 3);
        if (tjDecompress2(decoder, data + starts[index], jpeg_size, pixels, width, 0, height, TJPF_RGB, TJFLAG_FASTDCT)) return 1;
        unsigned char *out = NULL;
        unsigned long out_size = 0;
        if (tjCompress2(encoder, pixels, width, 0, height, TJPF_RGB, &out, &out_size, TJSAMP_420, 80, TJFLAG_FASTDCT)) return 1;
        tjFree(out);
        next.tv_nsec += (long)(1e9 / fps);
        while (next.tv_nsec >= 1000000000L) { next.tv_nsec -= 1000000000L; next.tv_sec++; }
        clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, NULL);
    }
    printf("{\"frames\": %ld, \"cpuSeconds\": %.4f}\n", frame_count, cpu_seconds() - before);
    return 0;
}
