// Package tuning is the control plane's hyperparameter tuning: it parses
// and validates tuning specs (objective, search space, algorithm, trial
// template with ${params.NAME}), suggests points (random, grid, and TPE
// after Bergstra et al. 2011 with Optuna's defaults) deterministically
// from a seed and the trials observed, applies the median stopping rule to
// the intermediate values trials log by step, and drives tunings with a
// level-based controller whose state is in SQLite. Trials are ordinary
// training jobs with tracking runs that are children of the tuning's run;
// objectives are read from those runs' metrics, with no sidecar. It runs
// in `ferry server`.
package tuning
