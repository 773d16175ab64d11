//! A tiny but real ONNX detector, written out by code: it averages the input over square cells
//! `stride` pixels apart (a convolution; cells overlap when the stride is smaller than the cell),
//! and reports each cell brighter than 60 % grey as a box of class `light`, in YOLOv8's layout. No detection weights can be fetched here, so tests, the demo and
//! the backends' comparison use it to drive the whole ONNX path with known answers.

use prost::Message;
use tract_onnx::pb::{
    attribute_proto::AttributeType, tensor_proto::DataType, tensor_shape_proto, type_proto, AttributeProto, GraphProto, ModelProto, NodeProto,
    OperatorSetIdProto, TensorProto, TensorShapeProto, TypeProto, ValueInfoProto,
};

/// The grid model's one class.
pub const GRID_CLASS: &str = "light";

/// Writes the grid detector for `side`×`side` inputs with `cell`-pixel cells every `stride` pixels
/// (cells must fit the input exactly).
pub fn write_grid_model(path: &std::path::Path, side: u32, cell: u32, stride: u32) -> std::io::Result<()> {
    assert!(cell > 0 && stride > 0 && cell <= side && (side - cell).is_multiple_of(stride), "cells must fit the input");
    let grid = i64::from((side - cell) / stride + 1);
    let (side, cell, stride) = (i64::from(side), i64::from(cell), i64::from(stride));
    let cells = grid * grid;
    let floats = |name: &str, dims: Vec<i64>, data: Vec<f32>| TensorProto {
        name: name.into(),
        dims,
        data_type: DataType::Float as i32,
        float_data: data,
        ..Default::default()
    };
    let mean_weight = 1.0 / (3 * cell * cell) as f32;
    let mut boxes = Vec::with_capacity(4 * cells as usize);
    for attribute in 0..4 {
        for index in 0..cells {
            let (row, column) = (index / grid, index % grid);
            boxes.push(match attribute {
                0 => (column * stride) as f32 + cell as f32 / 2.0,
                1 => (row * stride) as f32 + cell as f32 / 2.0,
                _ => cell as f32,
            });
        }
    }
    let initializer = vec![
        floats("weight", vec![1, 3, cell, cell], vec![mean_weight; (3 * cell * cell) as usize]),
        floats("threshold", vec![], vec![0.6]),
        floats("gain", vec![], vec![30.0]),
        floats("boxes", vec![1, 4, cells], boxes),
        TensorProto { name: "flat".into(), dims: vec![3], data_type: DataType::Int64 as i32, int64_data: vec![1, 1, cells], ..Default::default() },
    ];
    let ints = |name: &str, values: Vec<i64>| AttributeProto { name: name.into(), r#type: AttributeType::Ints as i32, ints: values, ..Default::default() };
    let int = |name: &str, value: i64| AttributeProto { name: name.into(), r#type: AttributeType::Int as i32, i: value, ..Default::default() };
    let node = |op: &str, inputs: &[&str], output: &str, attribute: Vec<AttributeProto>| NodeProto {
        op_type: op.into(),
        name: output.into(),
        input: inputs.iter().map(|s| s.to_string()).collect(),
        output: vec![output.into()],
        attribute,
        ..Default::default()
    };
    let nodes = vec![
        node("Conv", &["images", "weight"], "mean", vec![ints("kernel_shape", vec![cell, cell]), ints("strides", vec![stride, stride])]),
        node("Reshape", &["mean", "flat"], "mean_flat", vec![]),
        node("Sub", &["mean_flat", "threshold"], "above", vec![]),
        node("Mul", &["above", "gain"], "logit", vec![]),
        node("Sigmoid", &["logit"], "score", vec![]),
        node("Concat", &["boxes", "score"], "output0", vec![int("axis", 1)]),
    ];
    let value = |name: &str, dims: &[i64]| ValueInfoProto {
        name: name.into(),
        r#type: Some(TypeProto {
            value: Some(type_proto::Value::TensorType(type_proto::Tensor {
                elem_type: DataType::Float as i32,
                shape: Some(TensorShapeProto {
                    dim: dims
                        .iter()
                        .map(|&d| tensor_shape_proto::Dimension { value: Some(tensor_shape_proto::dimension::Value::DimValue(d)), ..Default::default() })
                        .collect(),
                }),
            })),
            ..Default::default()
        }),
        ..Default::default()
    };
    let graph = GraphProto {
        name: "grid".into(),
        node: nodes,
        initializer,
        input: vec![value("images", &[1, 3, side, side])],
        output: vec![value("output0", &[1, 5, cells])],
        ..Default::default()
    };
    let model = ModelProto {
        ir_version: 8,
        opset_import: vec![OperatorSetIdProto { domain: String::new(), version: 13 }],
        producer_name: "linli".into(),
        graph: Some(graph),
        ..Default::default()
    };
    std::fs::write(path, model.encode_to_vec())
}
