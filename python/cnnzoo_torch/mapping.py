"""The correspondence between cnnzoo's tensor names and a twin's state_dict names.

A twin registers its modules in the order cnnzoo's model describes its parts, so the twin's
state_dict (less BatchNorm's num_batches_tracked, which cnnzoo does not keep) lists the same
tensors in the same order as cnnzoo's tensor table (`cnnzoo-summary MODEL --tensors`, or the order
of a cnnzoo weight file). The mapping pairs them one by one and refuses any difference of count or
shape, naming the first pair that differs."""


def torch_entries(model):
    return [(k, tuple(v.shape)) for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")]


def pair(cnnzoo_entries, model):
    """cnnzoo_entries: [(name, shape)] in table order. Returns [(cnnzoo_name, torch_name)]."""
    theirs = torch_entries(model)
    pairs = []
    for i, ((cz, cshape), (tn, tshape)) in enumerate(zip(cnnzoo_entries, theirs)):
        if tuple(cshape) != tshape:
            raise ValueError(f"tensor {i}: cnnzoo {cz} has shape {tuple(cshape)}, the twin's {tn} has {tshape}")
        pairs.append((cz, tn))
    if len(cnnzoo_entries) != len(theirs):
        longer = cnnzoo_entries if len(cnnzoo_entries) > len(theirs) else theirs
        who = "cnnzoo" if longer is cnnzoo_entries else "the twin"
        raise ValueError(f"cnnzoo has {len(cnnzoo_entries)} tensors, the twin {len(theirs)}; "
                         f"{who} goes on with {longer[len(pairs)][0]} {tuple(longer[len(pairs)][1])}")
    return pairs


def summary_entries(text):
    """Parses `cnnzoo-summary MODEL --tensors` output into [(name, shape)]."""
    out = []
    for line in text.splitlines()[1:]:
        name, _kind, dims, _offset = line.split("\t")
        out.append((name, tuple(int(d) for d in dims.split("x"))))
    return out
