"""make usb SIGN=KEY,CERT: BOOTX64.EFI on the stick's image is signed with
the user's key (a throwaway one made here by openssl) and verifies with its
certificate only; bad SIGN values fail with one clear line and build nothing."""
import os
import shutil
import subprocess
import tempfile
import unittest

from usbtest import make, need_image
from test_image import partitions

SNAKEOIL_CERT = "/usr/share/ovmf/PkKek-1-snakeoil.pem"


def keypair(folder, name):
    key, cert = os.path.join(folder, name + ".key"), os.path.join(folder, name + ".pem")
    subprocess.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-sha256",
                    "-days", "1", "-subj", "/CN=morestack tools test %s/" % name,
                    "-keyout", key, "-out", cert], check=True, capture_output=True)
    return key, cert


class Sign(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.dir = tempfile.mkdtemp(prefix="morestack-sign-")
        cls.key, cls.cert = keypair(cls.dir, "user")
        cls.key2, cls.cert2 = keypair(cls.dir, "other")

    @classmethod
    def tearDownClass(cls):
        shutil.rmtree(cls.dir, ignore_errors=True)

    def setUp(self):
        need_image()
        self.out = tempfile.mkdtemp(dir=self.dir)

    def sign(self, value):
        return make("usb", "SIGN=" + value, "USB_SIGN_DIR=" + self.out)

    def efi_of(self, image):
        first = partitions(image)[0][1]
        efi = os.path.join(self.out, "extracted.efi")
        subprocess.run(["mcopy", "-n", "-i", "%s@@%d" % (image, first * 512),
                        "::/EFI/BOOT/BOOTX64.EFI", efi], check=True, capture_output=True)
        return efi

    def verify(self, efi, cert):
        return subprocess.run(["sbverify", "--cert", cert, efi], capture_output=True, text=True)

    def assertFailsClearly(self, r, *words):
        self.assertNotEqual(r.returncode, 0, r.stdout + r.stderr)
        lines = [l for l in r.stderr.splitlines() if l.startswith("usb: ")]
        self.assertEqual(len(lines), 1, r.stderr)
        for w in words:
            self.assertIn(w, lines[0])
        self.assertFalse(os.path.exists(os.path.join(self.out, "morestack.img")),
                         "an image was built although signing failed")

    def test_signed_image_verifies_with_the_users_certificate(self):
        r = self.sign("%s,%s" % (self.key, self.cert))
        self.assertEqual(r.returncode, 0, r.stdout + r.stderr)
        image = os.path.join(self.out, "morestack.img")
        self.assertIn("usb: %s is ready" % image, r.stdout)
        efi = self.efi_of(image)
        v = self.verify(efi, self.cert)
        self.assertEqual(v.returncode, 0, v.stdout + v.stderr)
        self.assertIn("Signature verification OK", v.stdout + v.stderr)
        # Signed by this key, not merely signed: other certificates do not verify it.
        self.assertNotEqual(self.verify(efi, self.cert2).returncode, 0)
        self.assertNotEqual(self.verify(efi, SNAKEOIL_CERT).returncode, 0)
        # The signed stick has the same layout as the plain one.
        _, first, last = partitions(image)[0]
        self.assertEqual((first, (last + 1) % 2048), (2048, 0))

    def test_missing_key_fails_clearly(self):
        missing = os.path.join(self.dir, "nosuch.key")
        self.assertFailsClearly(self.sign("%s,%s" % (missing, self.cert)),
                                "no private key " + missing)

    def test_missing_certificate_fails_clearly(self):
        missing = os.path.join(self.dir, "nosuch.pem")
        self.assertFailsClearly(self.sign("%s,%s" % (self.key, missing)),
                                "no certificate " + missing)

    def test_one_file_only_fails_clearly(self):
        self.assertFailsClearly(self.sign(self.key), "comma-separated", "SIGN=key.pem,cert.pem")

    def test_key_not_matching_certificate_fails_clearly(self):
        self.assertFailsClearly(self.sign("%s,%s" % (self.key, self.cert2)),
                                "does not match the certificate " + self.cert2)

    def test_certificate_given_as_key_fails_clearly(self):
        self.assertFailsClearly(self.sign("%s,%s" % (self.cert, self.cert)),
                                "cannot read %s as a PEM private key" % self.cert)

    def test_key_given_as_certificate_fails_clearly(self):
        self.assertFailsClearly(self.sign("%s,%s" % (self.key, self.key)),
                                "cannot read %s as a PEM certificate" % self.key)
