package androidx.test.services.storage;

import java.io.FileNotFoundException;
import java.io.OutputStream;

public final class TestStorage {
    public TestStorage() {
        throw new RuntimeException("Stub!");
    }

    public OutputStream openOutputFile(String pathname) throws FileNotFoundException {
        throw new RuntimeException("Stub!");
    }
}
