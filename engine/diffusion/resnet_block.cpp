#include "engine/diffusion/resnet_block.h"

namespace hearth::diffusion {

Status load_conv(DiffusionWeights& wt, const std::string& name, int cout, int cin, int k, ConvLayer* out) {
    out->k = k;
    HEARTH_RETURN_IF_ERROR(wt.conv(name + ".weight", cout, cin, k, &out->w));
    return wt.vector(name + ".bias", cout, &out->b);
}

Status load_norm(DiffusionWeights& wt, const std::string& name, int ch, NormLayer* out) {
    HEARTH_RETURN_IF_ERROR(wt.vector(name + ".weight", ch, &out->w));
    return wt.vector(name + ".bias", ch, &out->b);
}

Status load_resnet(DiffusionWeights& wt, const std::string& p, int cin, int cout, int temb_dim, ResnetBlock* r) {
    r->cin = cin;
    r->cout = cout;
    HEARTH_RETURN_IF_ERROR(load_norm(wt, p + ".norm1", cin, &r->n1));
    HEARTH_RETURN_IF_ERROR(load_conv(wt, p + ".conv1", cout, cin, 3, &r->c1));
    if (temb_dim > 0) {
        HEARTH_RETURN_IF_ERROR(wt.matrix(p + ".time_emb_proj.weight", cout, temb_dim, &r->time_w));
        HEARTH_RETURN_IF_ERROR(wt.vector(p + ".time_emb_proj.bias", cout, &r->time_b));
    }
    HEARTH_RETURN_IF_ERROR(load_norm(wt, p + ".norm2", cout, &r->n2));
    HEARTH_RETURN_IF_ERROR(load_conv(wt, p + ".conv2", cout, cout, 3, &r->c2));
    r->has_shortcut = cin != cout;
    if (r->has_shortcut) HEARTH_RETURN_IF_ERROR(load_conv(wt, p + ".conv_shortcut", cout, cin, 1, &r->shortcut));
    return Status();
}

void run_conv(Backend& be, const ConvLayer& c, const Tensor& x, int h, int w, int stride, const Tensor& y) {
    be.conv2d(x, c.w, &c.b, Conv2dGeometry{h, w, c.k, stride, c.k / 2}, y);
}

void run_resnet(Backend& be, const ResnetBlock& r, int h, int w, int groups, float eps, const Tensor& x, Buffer* a_buf,
                size_t a_offset, Buffer* b_buf, size_t b_offset, const Tensor* conv1_bias) {
    const int64_t px = int64_t(h) * w;
    const Tensor A = make_tensor(a_buf, a_offset, GgmlType::F32, px, r.cin), B = make_tensor(b_buf, b_offset, GgmlType::F32, px, r.cout);
    be.group_norm(x, groups, r.n1.w, r.n1.b, eps, A);
    be.activate(A, Activation::Silu);
    be.conv2d(A, r.c1.w, conv1_bias ? conv1_bias : &r.c1.b, Conv2dGeometry{h, w, 3, 1, 1}, B);
    be.group_norm(B, groups, r.n2.w, r.n2.b, eps, B);
    be.activate(B, Activation::Silu);
    const Tensor out = make_tensor(a_buf, a_offset, GgmlType::F32, px, r.cout);
    run_conv(be, r.c2, B, h, w, 1, out);
    if (r.has_shortcut) {
        const Tensor s = B;  // B is read; its memory takes the shortcut
        be.matmul(r.shortcut.w, x, s, &r.shortcut.b);  // a 1×1 convolution
        be.add(out, s, out);
    } else {
        be.add(out, x, out);
    }
}

}  // namespace hearth::diffusion
