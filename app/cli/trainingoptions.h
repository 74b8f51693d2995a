#pragma once
// Training options and training reports that several traclens-cli commands share:
// the epoch options of 'train' and 'demo', the training options of 'retrain' and
// 'evaluate', how a model's training stopped, and the weak-model warning (flagging.h).
//
// Thread safety: the main thread. Failure: the apply functions return false on a bad
// value (the caller prints the usage error); the printers print nothing they cannot read.

#include "common.h"

#include "model/trainer.h"

#include <QCommandLineParser>
#include <QJsonArray>
#include <QJsonObject>

#include <cstdint>
#include <cstdio>
#include <optional>

namespace traclens::cli {

// --epochs, or the adaptive options (--time-budget, --max-epochs, --patience).
bool applyEpochOptions(const QCommandLineParser &p, TrainConfig *cfg);
void addEpochOptions(CommandOptions &p);
// --lr-schedule; `defaultName` empty: "as the model was trained" (retrain).
QCommandLineOption lrScheduleOption(const QString &defaultName);
// --network and --augment (applied before the other training options: the network sets
// its recipe). `withDefaults` false: "as the model was trained" (retrain).
bool applyNetworkOptions(const QCommandLineParser &p, TrainConfig *cfg);
void addNetworkOptions(CommandOptions &p, bool withDefaults);
// The built-in CNN's options of 'retrain' and 'evaluate'.
bool applyTrainOptions(const QCommandLineParser &p, TrainConfig *cfg);
void addTrainOptions(CommandOptions &p, const std::optional<TrainConfig> &defaults);

void printTrainingRecord(ProjectDb &db, int64_t modelId);
QJsonObject trainingRecordJson(ProjectDb &db, int64_t modelId);
QJsonArray modelWarningsJson(ProjectDb &db, int64_t modelId);
void printModelWarnings(const QJsonArray &warnings, FILE *to);

} // namespace traclens::cli
