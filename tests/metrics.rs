//! Binary confusion counts, precision and recall, counted by hand above each test.

use ferronet::loss::TargetBatch;
use ferronet::metrics::BinaryCounts;
use ndarray::array;

// Probabilities [0.9, 0.2, 0.7, 0.4, 0.6] against labels [1, 0, 0, 1, 1], threshold 0.5:
// predicted [1, 0, 1, 0, 1]: TP 2 (0, 4), FP 1 (2), TN 1 (1), FN 1 (3).
// Precision 2/3, recall 2/3, accuracy 3/5.
#[test]
fn counts_precision_and_recall_from_probabilities_and_labels() {
    let p = array![[0.9f64], [0.2], [0.7], [0.4], [0.6]].into_dyn();
    let counts = BinaryCounts::count(p.view(), TargetBatch::Classes(&[1, 0, 0, 1, 1]), 0.5).unwrap();
    let expected =
        BinaryCounts { true_positives: 2, false_positives: 1, true_negatives: 1, false_negatives: 1 };
    assert_eq!(counts, expected);
    assert_eq!((counts.precision(), counts.recall(), counts.accuracy()), (2.0 / 3.0, 2.0 / 3.0, 0.6));
}

#[test]
fn class_indices_and_probability_rows_give_the_same_counts() {
    let logits = array![[1.0f64], [-2.0], [0.5]].into_dyn();
    let y = array![[1.0], [1.0], [0.0]];
    let from_labels = BinaryCounts::count(logits.view(), TargetBatch::Classes(&[1, 1, 0]), 0.0).unwrap();
    let from_rows = BinaryCounts::count(logits.view(), TargetBatch::Probabilities(y.view()), 0.0).unwrap();
    assert_eq!(from_labels, from_rows);
}

// No output predicted yes: precision has nothing to divide by and is 0, as scikit-learn reports it.
#[test]
fn precision_with_no_predicted_positive_is_zero() {
    let p = array![[0.1f32], [0.2]].into_dyn();
    let counts = BinaryCounts::count(p.view(), TargetBatch::Classes(&[1, 0]), 0.5).unwrap();
    assert_eq!((counts.precision(), counts.recall()), (0.0, 0.0));
}

#[test]
fn targets_that_do_not_fit_the_scores_are_errors() {
    let p = array![[0.1f32, 0.9]].into_dyn();
    let narrow = array![[1.0f32]];
    assert!(BinaryCounts::count(p.view(), TargetBatch::Probabilities(narrow.view()), 0.5).is_err());
    assert!(BinaryCounts::count(p.view(), TargetBatch::Classes(&[0, 1]), 0.5).is_err());
    let flat = array![0.1f32, 0.9].into_dyn();
    assert!(BinaryCounts::count(flat.view(), TargetBatch::Classes(&[0, 1]), 0.5).is_err(), "1-D scores");
}
