//! Metrics on hand-counted examples: accuracy, the confusion matrix, the most confident
//! mistakes, and binary confusion counts (counted by hand above each test).

use ferronet::Tensor;
use ferronet::loss::TargetBatch;
use ferronet::metrics::{BinaryCounts, ConfusionMatrix, Mistake, accuracy, most_confident_mistakes};
use ndarray::array;

#[test]
fn p16_accuracy_compares_argmax_with_labels() {
    let p = Tensor::from_array(ndarray::array![[0.7, 0.2, 0.1], [0.1, 0.1, 0.8], [0.2, 0.6, 0.2]]);
    assert_eq!(accuracy(&p.argmax_rows(), &[0, 1, 1]).unwrap(), 2.0 / 3.0);
}

#[test]
fn accuracy_of_no_samples_is_an_error() {
    assert!(accuracy(&[], &[]).is_err());
}

#[test]
fn confusion_matrix_counts_true_rows_against_predicted_columns() {
    // truth:     0 0 0 1 1 2
    // predicted: 0 0 1 1 2 2
    let m = ConfusionMatrix::new(&[0, 0, 1, 1, 2, 2], &[0, 0, 0, 1, 1, 2], 3).unwrap();
    assert_eq!((m.count(0, 0), m.count(0, 1), m.count(1, 1), m.count(1, 2), m.count(2, 2)), (2, 1, 1, 1, 1));
    assert_eq!(m.correct(), 4);
    assert_eq!(m.total(), 6);
}

#[test]
fn precision_recall_and_f1_per_class() {
    let m = ConfusionMatrix::new(&[0, 0, 1, 1, 2, 2], &[0, 0, 0, 1, 1, 2], 3).unwrap();
    assert_eq!(m.precision(0), Some(1.0));
    assert_eq!(m.recall(0), Some(2.0 / 3.0));
    assert_eq!(m.f1(0), Some(0.8));
    assert_eq!(m.precision(2), Some(0.5));
    assert_eq!(m.recall(2), Some(1.0));
}

#[test]
fn precision_of_a_class_never_predicted_is_undefined() {
    let m = ConfusionMatrix::new(&[0, 0], &[0, 1], 2).unwrap();
    assert_eq!(m.precision(1), None);
    assert_eq!(m.recall(1), Some(0.0));
    assert_eq!(m.f1(1), None);
}

#[test]
fn a_class_out_of_range_is_an_error() {
    let err = ConfusionMatrix::new(&[0, 3], &[0, 1], 3).unwrap_err();
    assert_eq!(err.to_string(), "data set: sample 1: class 3 is out of range for 3 classes");
}

#[test]
fn mistakes_come_most_confident_first() {
    let p = Tensor::from_array(ndarray::array![[0.9, 0.1], [0.2, 0.8], [0.4, 0.6], [0.05, 0.95]]);
    let mistakes = most_confident_mistakes(&p, &[0, 0, 0, 1], 5).unwrap();
    assert_eq!(
        mistakes,
        [
            Mistake { index: 1, label: 0, predicted: 1, probability: 0.8 },
            Mistake { index: 2, label: 0, predicted: 1, probability: 0.6 }
        ]
    );
}

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

// classes x classes counts: a number of classes whose matrix cannot exist is an error, whether
// the product overflows (2^32 squared wraps to 0 in 64 bits) or only exceeds memory.
#[test]
fn a_confusion_matrix_too_large_for_memory_is_an_error() {
    for classes in [1usize << 32, usize::MAX, 200_000] {
        let error = ConfusionMatrix::new(&[0], &[0], classes).unwrap_err();
        let expected = classes.to_string();
        assert!(
            matches!(&error, ferronet::Error::Config { name: "classes", value, .. } if *value == expected),
            "{classes}: {error:?}"
        );
    }
}
