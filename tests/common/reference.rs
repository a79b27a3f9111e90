//! Reading the reference JSON files and holding results to them (numpy.allclose), with a tally
//! of the largest relative error seen per precision.

use std::path::PathBuf;

use ferronet::Float;
use ferronet::data::Targets;
use ndarray::{Array, ArrayD, ArrayViewD, Dimension, IxDyn};
use serde_json::Value;

/// A number from the JSON.
pub fn number(v: &Value) -> f64 {
    v.as_f64().unwrap_or_else(|| panic!("not a number: {v}"))
}

/// The shape of nested lists (`[]` for a number).
fn shape_of(v: &Value) -> Vec<usize> {
    match v {
        Value::Array(items) => {
            let mut shape = vec![items.len()];
            shape.extend(items.first().map(shape_of).unwrap_or_default());
            shape
        }
        _ => Vec::new(),
    }
}

fn flatten(v: &Value, out: &mut Vec<f64>) {
    match v {
        Value::Array(items) => items.iter().for_each(|item| flatten(item, out)),
        other => out.push(number(other)),
    }
}

/// Nested lists of numbers as an array of `F` (each rounded once from the f64 in the file).
pub fn inputs_array<F: Float>(v: &Value) -> ArrayD<F> {
    let mut values = Vec::new();
    flatten(v, &mut values);
    let values = values.into_iter().map(F::from_f64).collect();
    ArrayD::from_shape_vec(IxDyn(&shape_of(v)), values).unwrap_or_else(|e| panic!("ragged lists {v}: {e}"))
}

/// Every form a case gives its targets in: `targets_index` as class indices, the others
/// (`targets_onehot`, `targets_soft`, `targets`) as probability rows.
pub fn targets_of<F: Float>(inputs: &Value) -> Vec<(&'static str, Targets<F>)> {
    let mut forms = Vec::new();
    for key in ["targets_index", "targets_onehot", "targets_soft", "targets"] {
        let Some(v) = inputs.get(key) else { continue };
        let rows = inputs_array::<f64>(v);
        let targets = if key == "targets_index" {
            let labels = rows.iter().map(|&c| c as usize).collect();
            Targets::Classes { labels, classes: usize::MAX }
        } else {
            Targets::Probabilities(inputs_array::<F>(v).into_dimensionality().unwrap())
        };
        forms.push((key, targets));
    }
    assert!(!forms.is_empty(), "no targets in {inputs}");
    forms
}

/// The largest relative error seen, and where.
#[derive(Debug, Default)]
pub struct Worst {
    pub rel: f64,
    pub at: String,
}

impl Worst {
    fn absorb(&mut self, other: Worst) {
        if other.rel > self.rel || self.at.is_empty() {
            *self = other;
        }
    }
}

/// One case of a file, run in one precision.
pub struct Case {
    file: String,
    /// The case's JSON.
    pub value: Value,
    /// Printed after the case's name in messages: which form of the targets is in use.
    pub note: &'static str,
    compared: usize,
    worst: Worst,
}

/// A scalar as a 0-D array, for [`Case::check`].
pub fn scalar<F: Float>(x: F) -> ArrayD<F> {
    ndarray::arr0(x).into_dyn()
}

impl Case {
    pub fn name(&self) -> &str {
        self.value["name"].as_str().unwrap_or("?")
    }

    /// Input `key` as an array of `F` with `D` axes.
    pub fn input<F: Float, D: Dimension>(&self, key: &str) -> Array<F, D> {
        let v = self.value["inputs"].get(key).unwrap_or_else(|| panic!("{}: no input {key}", self.name()));
        inputs_array::<F>(v)
            .into_dimensionality()
            .unwrap_or_else(|e| panic!("{}: input {key}: {e}", self.name()))
    }

    /// Holds `actual` to the expected value at `path` (`steps/0/params/W1`) under the case's `tolerance`.
    pub fn check<F: Float>(&mut self, path: &str, actual: &ArrayD<F>) {
        self.check_with("tolerance", path, actual.view());
    }

    /// As [`Case::check`], under the case's `tolerance_moments`.
    pub fn check_moments<F: Float>(&mut self, path: &str, actual: &ArrayD<F>) {
        self.check_with("tolerance_moments", path, actual.view());
    }

    fn check_with<F: Float>(&mut self, tolerance: &str, path: &str, actual: ArrayViewD<F>) {
        let expected = path.split('/').fold(&self.value["expected"], |v, key| match key.parse::<usize>() {
            Ok(i) => &v[i],
            Err(_) => &v[key],
        });
        let what = match self.note {
            "" => format!("{} {path}", self.name()),
            note => format!("{} ({note}) {path}", self.name()),
        };
        let label = format!("{} [{}] {what}", self.file, F::NAME);
        assert!(!expected.is_null(), "{label}: no expected value at {path}");
        let tol = &self.value[tolerance][F::NAME];
        let (rtol, atol) = (number(&tol["rtol"]), number(&tol["atol"]));
        let shape = shape_of(expected);
        assert_eq!(actual.shape(), &shape[..], "{label}: shape");
        let mut values = Vec::new();
        flatten(expected, &mut values);
        for (i, (&a, &e)) in actual.iter().zip(&values).enumerate() {
            let a = a.to_f64();
            let index = unravel(i, &shape);
            let limit = atol + rtol * e.abs();
            assert!(
                (a - e).abs() <= limit,
                "{label}{index:?}: got {a:e}, expected {e:e}; |difference| {:e} > atol + rtol |expected| = {limit:e}",
                (a - e).abs()
            );
            // Relative error where it means something: expected values this precision can hold as normal numbers.
            if e.abs() >= F::min_positive_value().to_f64() {
                self.worst.absorb(Worst { rel: (a - e).abs() / e.abs(), at: format!("{what}{index:?}") });
            }
        }
        self.compared += values.len();
    }
}

fn unravel(mut flat: usize, shape: &[usize]) -> Vec<usize> {
    let mut index = vec![0; shape.len()];
    for (i, &n) in shape.iter().enumerate().rev() {
        index[i] = flat % n.max(1);
        flat /= n.max(1);
    }
    index
}

/// One reference file.
pub struct Reference {
    name: String,
    json: Value,
}

impl Reference {
    pub fn load(name: &str) -> Self {
        let path: PathBuf = [env!("CARGO_MANIFEST_DIR"), "tests", "data", "reference", name].iter().collect();
        let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        let json = serde_json::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
        Reference { name: name.to_string(), json }
    }

    /// Runs every case not in `skip` (name, reason) once in f64 and once in f32, and prints
    /// the number of cases and the largest relative error of each precision.
    pub fn run(&self, skip: &[(&str, &str)], in_f64: fn(&mut Case), in_f32: fn(&mut Case)) {
        let cases = self.json["cases"].as_array().unwrap_or_else(|| panic!("{}: no cases", self.name));
        for (skipped, _) in skip {
            assert!(cases.iter().any(|c| c["name"] == *skipped), "{}: no case {skipped} to skip", self.name);
        }
        let (mut checked, mut worst) = (0, [Worst::default(), Worst::default()]);
        for value in cases {
            if let Some((name, reason)) = skip.iter().find(|(name, _)| value["name"] == *name) {
                println!("{}: skipped {name}: {reason}", self.name);
                continue;
            }
            for (run, worst) in [in_f64, in_f32].into_iter().zip(&mut worst) {
                let mut case = Case {
                    file: self.name.clone(),
                    value: value.clone(),
                    note: "",
                    compared: 0,
                    worst: Worst::default(),
                };
                run(&mut case);
                assert!(case.compared > 0, "{} {}: nothing was compared", self.name, case.name());
                worst.absorb(case.worst);
            }
            checked += 1;
        }
        assert!(checked > 0, "{}: no case was checked", self.name);
        let [w64, w32] = worst;
        println!(
            "{}: {checked} of {} cases checked in f64 and in f32; largest relative error f64 {:.2e} ({}), f32 {:.2e} ({})",
            self.name,
            cases.len(),
            w64.rel,
            w64.at,
            w32.rel,
            w32.at
        );
    }
}
