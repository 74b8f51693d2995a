#pragma once
// The commands of traclens-cli, one file each under commands/: the handler, which runs
// the command from the parsed command line and returns its exit code, and the function
// that adds the command's options. Names, one-line help and arguments are in the table in
// main.cpp.

#include "common.h"

namespace traclens::cli {

// commands/import.cpp
int cmdImport(Context &c);
// commands/train.cpp
int cmdTrain(Context &c);
void trainOptions(CommandOptions &p);
// commands/importmodel.cpp
int cmdImportModel(Context &c);
void importModelOptions(CommandOptions &p);
// commands/compute.cpp
int cmdCompute(Context &c);
void computeOptions(CommandOptions &p);
// commands/selfinfluence.cpp
int cmdSelfInfluence(Context &c);
void selfInfluenceOptions(CommandOptions &p);
// commands/query.cpp
int cmdQuery(Context &c);
void queryOptions(CommandOptions &p);
// commands/relabel.cpp
int cmdRelabel(Context &c);
// commands/export.cpp
int cmdExport(Context &c);
void exportOptions(CommandOptions &p);
// commands/info.cpp
int cmdInfo(Context &c);
// commands/index.cpp
int cmdIndex(Context &c);
void indexOptions(CommandOptions &p);
// commands/clusters.cpp
int cmdClusters(Context &c);
void clustersOptions(CommandOptions &p);
// commands/synth.cpp
int cmdSynth(Context &c);
void synthOptions(CommandOptions &p);
// commands/rank.cpp
int cmdRank(Context &c);
void rankOptions(CommandOptions &p);
// commands/crossvalidate.cpp
int cmdCrossValidate(Context &c);
void crossValidateOptions(CommandOptions &p);
// commands/retrain.cpp
int cmdRetrain(Context &c);
void retrainOptions(CommandOptions &p);
// commands/evaluate.cpp
int cmdEvaluate(Context &c);
void evaluateOptions(CommandOptions &p);
// commands/demo.cpp
int cmdDemo(Context &c);
void demoOptions(CommandOptions &p);

} // namespace traclens::cli
