#pragma once
// A tiny three-class training set for the built-in CNN's tests: 16×16 grey images of
// horizontal stripes, vertical stripes and a blob, with pixel noise. Deterministic for
// a given (count, seed); a few epochs of training separate the classes.

#include "model/trainer.h"

#include <algorithm>
#include <cstdlib>
#include <random>
#include <string>
#include <vector>

namespace traclens::testing {

// A tiny built-in CNN for tests: the given sizes, plain SGD with the rate halved every
// epoch (the step schedule, so expected rates are easy to write), a checkpoint every epoch. Tests set epochs and the adaptive mode themselves.
inline TrainConfig tinyTrainConfig(int width, int embeddingDim, int batchSize, double learningRate, uint64_t seed)
{
    TrainConfig c;
    c.width = width;
    c.embeddingDim = embeddingDim;
    c.batchSize = batchSize;
    c.learningRate = learningRate;
    c.schedule = LrSchedule::Step;
    c.lrDecay = 0.5;
    c.lrDecayEvery = 1;
    c.checkpointEvery = 1;
    c.seed = seed;
    return c;
}

inline const std::vector<std::string> &stripeClasses()
{
    static const std::vector<std::string> classes{"horizontal", "vertical", "blob"};
    return classes;
}

inline TrainData stripeData(int count, uint32_t seed)
{
    TrainData data;
    data.input.channels = 1;
    data.input.height = 16;
    data.input.width = 16;
    data.input.mean = {0.5f};
    data.input.std = {0.25f};
    std::mt19937 rng(seed);
    std::uniform_int_distribution<int> noise(-40, 40), phase(0, 3), centre(5, 10);
    data.pixels.resize(size_t(count) * 16 * 16);
    for (int i = 0; i < count; ++i) {
        const int label = i % 3;
        const int p = phase(rng), cy = centre(rng), cx = centre(rng);
        uint8_t *img = data.pixels.data() + size_t(i) * 256;
        for (int y = 0; y < 16; ++y) {
            for (int x = 0; x < 16; ++x) {
                bool on = false;
                if (label == 0)
                    on = ((y + p) / 2) % 2 == 0;
                else if (label == 1)
                    on = ((x + p) / 2) % 2 == 0;
                else
                    on = std::abs(y - cy) <= 3 && std::abs(x - cx) <= 3;
                img[y * 16 + x] = uint8_t(std::clamp((on ? 200 : 50) + noise(rng), 0, 255));
            }
        }
        data.labels.push_back(label);
    }
    return data;
}

} // namespace traclens::testing
