package android.net;

public abstract class Uri implements Comparable<Uri> {
    @Override
    public abstract String toString();
}
