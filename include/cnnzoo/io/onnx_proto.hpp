#pragma once
// The few ONNX protobuf messages an exported inference graph needs, written by hand.
//
// Why not libprotobuf / libonnx: the library is header-only with Eigen as its one dependency, and
// writing a protobuf is small (varints and length-prefixed fields); generating code from onnx.proto
// would add a build step, a library to link and a version to match for about 150 lines of
// encoder. Reading ONNX is not needed. Field numbers are onnx.proto's (IR version 8, opset 17);
// tests/onnx checks every exported file with the onnx package's checker and runs it in ONNX Runtime.
#include <cstdint>
#include <cstring>
#include <span>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

namespace cnnzoo::io::onnx {

// One protobuf message under construction: fields are appended in the order written.
class message {
public:
  message& varint(int field, std::uint64_t v) {
    key(field, 0);
    put_varint(v);
    return *this;
  }
  message& signed_varint(int field, std::int64_t v) { return varint(field, static_cast<std::uint64_t>(v)); }
  message& f32(int field, float v) {
    key(field, 5);
    std::uint32_t u;
    std::memcpy(&u, &v, 4);
    for (int i = 0; i < 4; ++i) bytes_.push_back(static_cast<std::uint8_t>(u >> (8 * i)));
    return *this;
  }
  message& bytes(int field, std::span<const std::uint8_t> b) {
    key(field, 2);
    put_varint(b.size());
    bytes_.insert(bytes_.end(), b.begin(), b.end());
    return *this;
  }
  message& string(int field, std::string_view s) {
    return bytes(field, {reinterpret_cast<const std::uint8_t*>(s.data()), s.size()});
  }
  message& sub(int field, const message& m) { return bytes(field, m.bytes_); }
  const std::vector<std::uint8_t>& data() const noexcept { return bytes_; }

private:
  void key(int field, int wire) { put_varint(static_cast<std::uint64_t>(field) << 3 | static_cast<std::uint64_t>(wire)); }
  void put_varint(std::uint64_t v) {
    while (v >= 0x80) {
      bytes_.push_back(static_cast<std::uint8_t>(v | 0x80));
      v >>= 7;
    }
    bytes_.push_back(static_cast<std::uint8_t>(v));
  }
  std::vector<std::uint8_t> bytes_;
};

// Field numbers of onnx.proto.
namespace field {
inline constexpr int model_ir_version = 1, model_producer_name = 2, model_producer_version = 3, model_graph = 7,
                     model_opset_import = 8, model_metadata_props = 14;
inline constexpr int opset_domain = 1, opset_version = 2;
inline constexpr int graph_node = 1, graph_name = 2, graph_initializer = 5, graph_input = 11, graph_output = 12;
inline constexpr int node_input = 1, node_output = 2, node_name = 3, node_op_type = 4, node_attribute = 5;
inline constexpr int attr_name = 1, attr_f = 2, attr_i = 3, attr_ints = 8, attr_type = 20;
inline constexpr int tensor_dims = 1, tensor_data_type = 2, tensor_name = 8, tensor_raw_data = 9,
                     tensor_external_data = 13, tensor_data_location = 14;
inline constexpr int value_name = 1, value_type = 2;
inline constexpr int type_tensor = 1, type_tensor_elem_type = 1, type_tensor_shape = 2;
inline constexpr int shape_dim = 1, dim_value = 1, dim_param = 2;
inline constexpr int entry_key = 1, entry_value = 2;
}  // namespace field

inline constexpr int attribute_float = 1, attribute_int = 2, attribute_ints = 7;
inline constexpr int tensor_float = 1, tensor_int64 = 7;

struct attribute {
  std::string name;
  enum { f, i, ints } kind = i;
  float fv = 0;
  std::int64_t iv = 0;
  std::vector<std::int64_t> list;

  static attribute of(std::string n, std::int64_t v) { return {std::move(n), i, 0, v, {}}; }
  static attribute of(std::string n, float v) { return {std::move(n), f, v, 0, {}}; }
  static attribute of(std::string n, std::vector<std::int64_t> v) { return {std::move(n), ints, 0, 0, std::move(v)}; }

  message encode() const {
    message m;
    m.string(field::attr_name, name);
    if (kind == f) m.f32(field::attr_f, fv).varint(field::attr_type, attribute_float);
    if (kind == i) m.signed_varint(field::attr_i, iv).varint(field::attr_type, attribute_int);
    if (kind == ints) {
      for (std::int64_t v : list) m.signed_varint(field::attr_ints, v);
      m.varint(field::attr_type, attribute_ints);
    }
    return m;
  }
};

inline message node(std::string_view op, const std::vector<std::string>& inputs, const std::vector<std::string>& outputs,
                    const std::vector<attribute>& attributes) {
  message m;
  for (const auto& in : inputs) m.string(field::node_input, in);
  for (const auto& out : outputs) m.string(field::node_output, out);
  m.string(field::node_name, outputs.at(0));
  m.string(field::node_op_type, op);
  for (const auto& a : attributes) m.sub(field::node_attribute, a.encode());
  return m;
}

inline message tensor(const std::string& name, const std::vector<std::int64_t>& dims, int type,
                      std::span<const std::uint8_t> raw) {
  message m;
  for (std::int64_t d : dims) m.signed_varint(field::tensor_dims, d);
  m.varint(field::tensor_data_type, static_cast<std::uint64_t>(type));
  m.string(field::tensor_name, name);
  m.bytes(field::tensor_raw_data, raw);
  return m;
}

// A tensor whose bytes live in another file (`location`, beside the model), as ONNX stores models
// over protobuf's 2 GB limit.
inline message external_tensor(const std::string& name, const std::vector<std::int64_t>& dims, int type,
                               const std::string& location, std::uint64_t offset, std::uint64_t length) {
  message m;
  for (std::int64_t d : dims) m.signed_varint(field::tensor_dims, d);
  m.varint(field::tensor_data_type, static_cast<std::uint64_t>(type));
  m.string(field::tensor_name, name);
  const auto entry = [](std::string_view k, const std::string& v) {
    message e;
    e.string(1, k).string(2, v);
    return e;
  };
  m.sub(field::tensor_external_data, entry("location", location));
  m.sub(field::tensor_external_data, entry("offset", std::to_string(offset)));
  m.sub(field::tensor_external_data, entry("length", std::to_string(length)));
  m.varint(field::tensor_data_location, 1);  // EXTERNAL
  return m;
}

// A float tensor value of the graph's interface; a dimension < 0 is the symbolic batch "N".
inline message value_info(const std::string& name, const std::vector<std::int64_t>& dims) {
  message shape;
  for (std::int64_t d : dims) {
    message dim;
    if (d < 0) dim.string(field::dim_param, "N");
    else dim.signed_varint(field::dim_value, d);
    shape.sub(field::shape_dim, dim);
  }
  message tensor_type;
  tensor_type.varint(field::type_tensor_elem_type, tensor_float).sub(field::type_tensor_shape, shape);
  message type;
  type.sub(field::type_tensor, tensor_type);
  message m;
  m.string(field::value_name, name).sub(field::value_type, type);
  return m;
}

inline message string_entry(std::string_view key, std::string_view value) {
  message m;
  m.string(field::entry_key, key).string(field::entry_value, value);
  return m;
}

}  // namespace cnnzoo::io::onnx
