"""The PyTorch twins of the zoo's 31 networks, by the seed table's names. Each family module
exports TWINS = {name: constructor}; a constructor takes no arguments and returns an nn.Module
whose forward maps normalized NCHW float images to 10 logits."""
import importlib

FAMILIES = ["alexnet", "nin", "vgg", "inception", "resnet", "dilated", "squeezenet", "stochastic_depth",
            "fractalnet", "xception", "pyramidnet", "resnext", "wide_resnet", "densenet", "dual_path",
            "shufflenet", "mobilenet", "senet", "cbam", "sknet", "efficientnet"]


def registry():
    twins = {}
    for family in FAMILIES:
        try:
            module = importlib.import_module(f"{__name__}.{family}")
        except ModuleNotFoundError as e:
            if e.name == f"{__name__}.{family}":
                continue  # a family not written yet
            raise
        twins.update(module.TWINS)
    return twins


def build(name):
    twins = registry()
    if name not in twins:
        raise KeyError(f"no PyTorch twin named {name!r}; known: {', '.join(sorted(twins))}")
    return twins[name]()
