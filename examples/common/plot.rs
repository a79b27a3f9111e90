//! The training history as an SVG picture: loss on the left, accuracy on the right, each for
//! the training and the validation samples, one point per epoch.
//!
//! SVG text is laid out by whatever displays the file, so no font is needed to write it.

use std::error::Error;
use std::path::Path;

use ferronet::History;
use plotters::coord::Shift;
use plotters::prelude::*;

/// Writes the loss and accuracy curves of `history` to `path` as an SVG.
pub fn history_svg(history: &History, path: &Path) -> ferronet::Result<()> {
    draw(history, path).map_err(|e| ferronet::Error::Io {
        path: path.to_path_buf(),
        source: std::io::Error::other(e.to_string()),
    })
}

fn draw(history: &History, path: &Path) -> Result<(), Box<dyn Error>> {
    let root = SVGBackend::new(path, (1100, 440)).into_drawing_area();
    root.fill(&WHITE)?;
    let (left, right) = root.split_horizontally(550);
    let epochs: Vec<i32> = history.epochs.iter().map(|e| e.epoch as i32).collect();
    let loss = (history.loss(), history.val_loss());
    let accuracy = (history.accuracy(), history.val_accuracy());
    panel(&left, "loss", &epochs, loss, SeriesLabelPosition::UpperRight, f64::INFINITY)?;
    panel(&right, "accuracy", &epochs, accuracy, SeriesLabelPosition::LowerRight, 1.0)?;
    root.present()?;
    Ok(())
}

/// One chart: the training curve in blue, the validation curve (if any) in red, and a legend.
/// The y axis spans the values with a margin, never below 0 nor above `ceiling`.
fn panel(
    area: &DrawingArea<SVGBackend, Shift>,
    name: &str,
    epochs: &[i32],
    (train, val): (Vec<f64>, Vec<f64>),
    legend: SeriesLabelPosition,
    ceiling: f64,
) -> Result<(), Box<dyn Error>> {
    let (min, max) = train
        .iter()
        .chain(&val)
        .fold((f64::INFINITY, f64::NEG_INFINITY), |(lo, hi), &v| (lo.min(v), hi.max(v)));
    let margin = (max - min).max(1e-3) * 0.1;
    let (low, high) = ((min - margin).max(0.0), (max + margin).min(ceiling));
    let (first, last) = (epochs.first().copied().unwrap_or(1), epochs.last().copied().unwrap_or(1));

    let mut chart = ChartBuilder::on(area)
        .caption(name, ("sans-serif", 24))
        .margin(16)
        .x_label_area_size(44)
        .y_label_area_size(64)
        .build_cartesian_2d(first..last.max(first + 1), low..high)?;
    chart
        .configure_mesh()
        .x_desc("epoch")
        .y_desc(name)
        .x_labels(epochs.len().clamp(2, 12))
        .y_label_formatter(&|y| format!("{y:.3}"))
        .draw()?;
    for (label, values, colour) in [("training", &train, BLUE), ("validation", &val, RED)] {
        if values.is_empty() {
            continue;
        }
        let points = epochs.iter().copied().zip(values.iter().copied());
        chart
            .draw_series(LineSeries::new(points, colour.filled().stroke_width(2)).point_size(4))?
            .label(label)
            .legend(move |(x, y)| PathElement::new(vec![(x, y), (x + 24, y)], colour.stroke_width(2)));
    }
    chart
        .configure_series_labels()
        .position(legend)
        .background_style(WHITE.mix(0.9))
        .border_style(BLACK)
        .draw()?;
    Ok(())
}
