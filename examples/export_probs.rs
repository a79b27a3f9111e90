//! Writes the class probabilities a saved model gives the 10,000 MNIST test images, as one
//! safetensors tensor `probabilities` of shape `[10000, 10]`, for `scripts/torch_interop.py`
//! to compare with PyTorch's.
//!
//! ```text
//! cargo run --release --example export_probs -- MODEL OUT [--data DIR]
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;

use ferronet::Sequential;
use ferronet::data::Mnist;
use safetensors::Dtype;
use safetensors::tensor::TensorView;

const USAGE: &str = "usage: export_probs MODEL OUT [--data DIR]";

fn run(model: PathBuf, out: PathBuf, data: PathBuf) -> Result<(), String> {
    let mut model = Sequential::<f32>::load(&model).map_err(|e| e.to_string())?;
    let mnist = Mnist::load(&data).map_err(|e| e.to_string())?;
    let probabilities = model.predict(&mnist.test_images, 1000).map_err(|e| e.to_string())?;
    let bytes: Vec<u8> = probabilities.as_slice().iter().flat_map(|p| p.to_le_bytes()).collect();
    let view =
        TensorView::new(Dtype::F32, probabilities.shape().to_vec(), &bytes).map_err(|e| e.to_string())?;
    let file = safetensors::serialize([("probabilities", view)], None::<HashMap<String, String>>)
        .map_err(|e| e.to_string())?;
    std::fs::write(&out, file).map_err(|e| format!("{}: {e}", out.display()))?;
    println!("wrote {} ({:?} probabilities)", out.display(), probabilities.shape());
    Ok(())
}

fn main() -> ExitCode {
    let words: Vec<String> = std::env::args().skip(1).collect();
    let result = match words.as_slice() {
        [model, out] => run(model.into(), out.into(), "data/mnist".into()),
        [model, out, flag, dir] if flag == "--data" => run(model.into(), out.into(), dir.into()),
        _ => Err(USAGE.to_string()),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(message) => {
            eprintln!("error: {message}");
            ExitCode::from(2)
        }
    }
}
