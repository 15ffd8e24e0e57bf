//! The datasets gantry knows: their files, checksums, mirrors and class names.

use serde::{Deserialize, Serialize};
use std::path::{Path, PathBuf};

/// A dataset gantry can load by name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "kebab-case")]
pub enum DatasetName {
    /// Handwritten digits, 28×28 grey, 10 classes.
    Mnist,
    /// Zalando's clothing items, 28×28 grey, 10 classes.
    FashionMnist,
    /// 100 Labeled-Faces-in-the-Wild crops, 25×25 grey (scikit-image's `lfw_subset.npy`).
    Lfw,
    /// CIFAR-10, 32×32 RGB, 10 classes (the binary batches).
    Cifar10,
    /// CelebA aligned portraits, 178×218 RGB, centre-cropped to a square (`img_align_celeba/`).
    Celeba,
    /// SVHN cropped digits, 32×32 RGB, 10 classes (`train_32x32.mat`, `test_32x32.mat`).
    Svhn,
    /// Any folder of images: one class per sub-folder, or one class if there are none.
    ImageFolder,
}

/// One file of an IDX dataset, with the SHA-256 of its *decompressed* bytes: mirrors
/// recompress the `.gz` files (Debian's Fashion-MNIST differs from upstream's by 24 bytes),
/// while the IDX content is the same everywhere.
#[derive(Debug, Clone, Copy)]
pub struct IdxFile {
    pub name: &'static str,
    pub sha256: &'static str,
}

/// The four files of an MNIST-style dataset.
#[derive(Debug, Clone, Copy)]
pub struct IdxFiles {
    pub train_images: IdxFile,
    pub train_labels: IdxFile,
    pub test_images: IdxFile,
    pub test_labels: IdxFile,
}

impl IdxFiles {
    pub fn all(&self) -> [IdxFile; 4] {
        [
            self.train_images,
            self.train_labels,
            self.test_images,
            self.test_labels,
        ]
    }
}

const MNIST_FILES: IdxFiles = IdxFiles {
    train_images: IdxFile {
        name: "train-images-idx3-ubyte",
        sha256: "ba891046e6505d7aadcbbe25680a0738ad16aec93bde7f9b65e87a2fc25776db",
    },
    train_labels: IdxFile {
        name: "train-labels-idx1-ubyte",
        sha256: "65a50cbbf4e906d70832878ad85ccda5333a97f0f4c3dd2ef09a8a9eef7101c5",
    },
    test_images: IdxFile {
        name: "t10k-images-idx3-ubyte",
        sha256: "0fa7898d509279e482958e8ce81c8e77db3f2f8254e26661ceb7762c4d494ce7",
    },
    test_labels: IdxFile {
        name: "t10k-labels-idx1-ubyte",
        sha256: "ff7bcfd416de33731a308c3f266cc351222c34898ecbeaf847f06e48f7ec33f2",
    },
};

const FASHION_MNIST_FILES: IdxFiles = IdxFiles {
    train_images: IdxFile {
        name: "train-images-idx3-ubyte",
        sha256: "c59f468a2f672dc815687fe0f83887768d799fd8a3f3276145d20f83aa44d888",
    },
    train_labels: IdxFile {
        name: "train-labels-idx1-ubyte",
        sha256: "bad3541b69d912435c50bb6ba87bec294ff4f6a2e1246121d8633921760443d9",
    },
    test_images: IdxFile {
        name: "t10k-images-idx3-ubyte",
        sha256: "5b4141f0afbad91edebe8549f8fcffe087ea10ca49f1dbef5c9a5cd8815ce37b",
    },
    test_labels: IdxFile {
        name: "t10k-labels-idx1-ubyte",
        sha256: "0402a96d92fd2663957122ceb108a494c5af83dab82d92729df917d7dec38c34",
    },
};

impl DatasetName {
    /// The name used on the command line and as the folder under the data directory.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Mnist => "mnist",
            Self::FashionMnist => "fashion-mnist",
            Self::Lfw => "lfw",
            Self::Cifar10 => "cifar10",
            Self::Celeba => "celeba",
            Self::Svhn => "svhn",
            Self::ImageFolder => "image-folder",
        }
    }

    /// The IDX files of MNIST-style datasets; `None` for the others.
    pub fn files(self) -> Option<IdxFiles> {
        match self {
            Self::Mnist => Some(MNIST_FILES),
            Self::FashionMnist => Some(FASHION_MNIST_FILES),
            _ => None,
        }
    }

    /// Where the official `.gz` files can be downloaded, first choice first.
    pub fn mirrors(self) -> &'static [&'static str] {
        match self {
            Self::Mnist => &[
                "https://ossci-datasets.s3.amazonaws.com/mnist/",
                "https://storage.googleapis.com/cvdf-datasets/mnist/",
            ],
            Self::FashionMnist => &["http://fashion-mnist.s3-website.eu-central-1.amazonaws.com/"],
            Self::Cifar10 => &["https://www.cs.toronto.edu/~kriz/"],
            Self::Svhn => &["http://ufldl.stanford.edu/housenumbers/"],
            _ => &[],
        }
    }

    /// The class names; an image folder's come from its sub-folders when it is loaded.
    pub fn class_names(self) -> Vec<String> {
        let names: &[&str] = match self {
            Self::Mnist | Self::Svhn => &["0", "1", "2", "3", "4", "5", "6", "7", "8", "9"],
            Self::Cifar10 => &[
                "airplane",
                "automobile",
                "bird",
                "cat",
                "deer",
                "dog",
                "frog",
                "horse",
                "ship",
                "truck",
            ],
            Self::Lfw | Self::Celeba => &["face"],
            Self::ImageFolder => &["images"],
            Self::FashionMnist => &[
                "T-shirt/top",
                "Trouser",
                "Pullover",
                "Dress",
                "Coat",
                "Sandal",
                "Shirt",
                "Sneaker",
                "Bag",
                "Ankle boot",
            ],
        };
        names.iter().map(|s| s.to_string()).collect()
    }

    /// The shape `[channels, height, width]` the dataset is stored at (CelebA: after its
    /// centre crop, at the DCGAN size; image folders: the size gantry resizes to unless a
    /// model asks for another). Loading resizes to whatever the model needs.
    pub fn image_shape(self) -> [usize; 3] {
        match self {
            Self::Mnist | Self::FashionMnist => [1, 28, 28],
            Self::Lfw => [1, 25, 25],
            Self::Cifar10 | Self::Svhn => [3, 32, 32],
            Self::Celeba | Self::ImageFolder => [3, 64, 64],
        }
    }

    /// Whether the classes come from the files (image folders) rather than the catalogue.
    pub fn has_fixed_classes(self) -> bool {
        self != Self::ImageFolder
    }

    /// The folder of this dataset under a data directory.
    pub fn dir(self, data_dir: &Path) -> PathBuf {
        data_dir.join(self.as_str())
    }

    /// How a user gets this dataset, for error messages.
    pub fn how_to_get(self, data_dir: &Path) -> String {
        let dir = self.dir(data_dir);
        match self {
            Self::Mnist | Self::FashionMnist => {}
            Self::Lfw => {
                return format!(
                    "Get it with `scripts/fetch-data-offline.sh {} lfw` (from PyPI's \
                     scikit-image wheel), or put scikit-image's lfw_subset.npy in {}.",
                    data_dir.display(),
                    dir.display()
                );
            }
            Self::Cifar10 => {
                return format!(
                    "Get it with `gantry data fetch cifar10 --data-dir {}`, or download \
                     https://www.cs.toronto.edu/~kriz/cifar-10-binary.tar.gz and unpack it \
                     into {} (so that cifar-10-batches-bin/data_batch_1.bin is in it).",
                    data_dir.display(),
                    dir.display()
                );
            }
            Self::Svhn => {
                return format!(
                    "Get it with `gantry data fetch svhn --data-dir {}`, or download \
                     train_32x32.mat and test_32x32.mat from \
                     http://ufldl.stanford.edu/housenumbers/ into {}.",
                    data_dir.display(),
                    dir.display()
                );
            }
            Self::Celeba => {
                return format!(
                    "Download CelebA's img_align_celeba.zip and list_eval_partition.txt \
                     (https://mmlab.ie.cuhk.edu.hk/projects/CelebA.html) and unpack them so \
                     that {}/img_align_celeba/000001.jpg exists.",
                    dir.display()
                );
            }
            Self::ImageFolder => {
                return format!(
                    "Put images (PNG, JPEG or GIF) in {}, or one sub-folder per class, or \
                     point `dataset_dir` (`--dataset-dir`) at your folder.",
                    dir.display()
                );
            }
        }
        format!(
            "Get it with `gantry data fetch {name} --data-dir {dir}` (internet) or \
             `scripts/fetch-data-offline.sh {dir} {name}` (package registries only).",
            name = self.as_str(),
            dir = data_dir.display()
        )
    }
}

impl std::fmt::Display for DatasetName {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}
